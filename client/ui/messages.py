"""Errors turned into sentences for the user, in their language, with what to do."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from client.livekit import errors
from client.local_media import DeviceProblem
from client.media.camera import CameraProblem
from client.meeting_link import LinkError
from client.visio.api import VisioError
from client.visio.lobby import LobbyDenied, LobbyTimedOut


def link_error_message(exc: Exception) -> str:
    if isinstance(exc, errors.InsecureTransportError):
        return QCoreApplication.translate(
            "Messages",
            "This address is not secure (ws:// or http://) and the server is not on this "
            "computer or a private network. Ask for a wss:// or https:// link.",
        )
    if isinstance(exc, LinkError):
        text = str(exc)
        if "token" in text and "malformed" in text:
            return QCoreApplication.translate(
                "Messages", "The access token in this link is damaged. Copy the whole link again."
            )
        if "token" in text:
            return QCoreApplication.translate(
                "Messages",
                "This link has no access token. Paste the whole link, or the token below.",
            )
        if "empty" in text:
            return QCoreApplication.translate(
                "Messages", "Paste the link of the meeting you were invited to."
            )
        return QCoreApplication.translate(
            "Messages", "This is not a meeting link. Check that you copied it whole."
        )
    return connect_error_message(exc)


def disconnected_message(reason: str) -> str:
    """The core's reasons for ending a session, in the user's language."""
    if "removed" in reason:
        return QCoreApplication.translate("Messages", "You were removed from the meeting.")
    if "closed" in reason:
        return QCoreApplication.translate("Messages", "The meeting has ended.")
    if "same identity" in reason:
        return QCoreApplication.translate(
            "Messages", "You joined this meeting from another device, so this one left it."
        )
    return QCoreApplication.translate("Messages", "The server ended your session.")


def connect_error_message(exc: BaseException) -> str:
    """Why joining failed, and what the user can do about it."""
    match exc:
        case errors.TokenExpiredError():
            return QCoreApplication.translate(
                "Messages", "This invitation has expired. Ask the organiser for a new link."
            )
        case errors.TokenInvalidError():
            return QCoreApplication.translate(
                "Messages", "This invitation is not valid for this server. Ask for a new link."
            )
        case errors.PermissionDeniedError():
            return QCoreApplication.translate(
                "Messages", "You are not allowed to join this meeting."
            )
        case errors.RoomFullError():
            return QCoreApplication.translate("Messages", "The meeting is full. Try again later.")
        case errors.InvalidUrlError():
            return QCoreApplication.translate(
                "Messages", "No meeting server answers at this address. Check the link."
            )
        case errors.CertificateError():
            return certificate_error_message(exc)
        case errors.ProxyError():
            return QCoreApplication.translate(
                "Messages",
                "The proxy of your network cannot be reached or refused the connection to "
                "the meeting server. Check the proxy settings or contact your IT support.",
            )
        case errors.JoinTimeoutError() | errors.ServerUnreachableError():
            return QCoreApplication.translate(
                "Messages",
                "The meeting server cannot be reached. Check your network connection; "
                "the app will keep the link so you can try again.",
            )
        case errors.UdpBlockedError():
            return QCoreApplication.translate(
                "Messages",
                "This network blocks the traffic audio and video use (UDP), and the relay "
                "through an encrypted web connection did not get through either. Try another "
                "network, or ask your IT support to allow UDP or TURN over TLS.",
            )
        case errors.MediaConnectionError():
            return QCoreApplication.translate(
                "Messages",
                "Connected, but audio and video cannot get through this network "
                "(a firewall may block them). Try another network or contact your IT support.",
            )
        case errors.DisconnectedError():
            return disconnected_message(str(exc))
        case errors.InsecureTransportError():
            return link_error_message(exc)
    return QCoreApplication.translate("Messages", "Something went wrong (%1). Try again.").replace(
        "%1", type(exc).__name__
    )


def certificate_error_message(exc: errors.CertificateError) -> str:
    """What is wrong with the server's certificate, and who can fix it."""
    if exc.reason == errors.CertificateError.UNTRUSTED:
        return QCoreApplication.translate(
            "Messages",
            "The security certificate of the meeting server is not recognised by this "
            "computer. If your organisation uses its own certificate authority, ask your "
            "IT support to install it.",
        )
    if exc.reason == errors.CertificateError.WRONG_HOST:
        return QCoreApplication.translate(
            "Messages",
            "The meeting server presented a certificate made for another address: the "
            "connection may be intercepted. Check the link or contact your IT support.",
        )
    if exc.reason == errors.CertificateError.EXPIRED:
        return QCoreApplication.translate(
            "Messages",
            "The security certificate of the meeting server has expired or is not valid "
            "yet. Check this computer's date and time, or tell the server's administrator.",
        )
    if exc.reason == errors.CertificateError.REVOKED:
        return QCoreApplication.translate(
            "Messages",
            "The security certificate of the meeting server has been revoked. Tell the "
            "server's administrator.",
        )
    if exc.reason == errors.CertificateError.CA_FILE:
        return QCoreApplication.translate(
            "Messages",
            "The additional certificate authority file set for this app cannot be read. "
            "Check the file or contact your IT support.",
        )
    return QCoreApplication.translate(
        "Messages",
        "A secure connection to the meeting server could not be established. "
        "Contact your IT support.",
    )


def device_problem_message(problem: DeviceProblem) -> str:
    """What went wrong with a device, and what happens now."""
    translate = QCoreApplication.translate
    what = {
        "camera": translate("Messages", "camera"),
        "microphone": translate("Messages", "microphone"),
        "speaker": translate("Messages", "speaker"),
        "screen": translate("Messages", "screen"),
    }[problem.kind]
    name = problem.device or what[:1].upper() + what[1:]
    if problem.problem == "fell_back" and problem.replacement:
        text = translate("Messages", "%1 was disconnected: now using %2.")
        return text.replace("%1", name).replace("%2", problem.replacement)
    if problem.problem == "fell_back":
        text = translate("Messages", "%1 was disconnected, and nothing can replace it.")
        return text.replace("%1", name)
    if problem.problem == "in_use":
        text = translate("Messages", "%1 is used by another application. Close it, then try again.")
        return text.replace("%1", name)
    if problem.problem == "denied":
        text = translate(
            "Messages", "%1 may not be used: allow it in the system's privacy settings."
        )
        return text.replace("%1", name)
    if problem.problem == "missing":
        text = translate("Messages", "%1 not found: the call goes on without it.")
        return text.replace("%1", what[:1].upper() + what[1:])
    if problem.problem == "unavailable":
        return translate(
            "Messages",
            "Screen sharing is not available on this desktop (Wayland, or no X display).",
        )
    text = translate("Messages", "%1 could not be opened: the one in use is kept.")
    return text.replace("%1", name)


def camera_device_problem(problem: CameraProblem) -> DeviceProblem:
    """The camera's own report, in the words every device problem uses."""
    return DeviceProblem("camera", problem.problem, problem.device, problem.replacement)


def speaking_while_muted_message() -> str:
    return QCoreApplication.translate(
        "Messages", "You are speaking with your microphone off. Press M to turn it on."
    )


def visio_error_message(exc: BaseException) -> str:
    """A Visio server's refusal or silence, and what to do about it."""
    translate = QCoreApplication.translate
    if isinstance(exc, LobbyDenied):
        return translate("Messages", "The host did not let you in.")
    if isinstance(exc, LobbyTimedOut):
        return translate(
            "Messages", "Nobody let you in within 10 minutes. Try again, or contact the organiser."
        )
    if not isinstance(exc, VisioError):
        return connect_error_message(exc)
    if exc.kind == VisioError.CERTIFICATE and isinstance(exc.cause, errors.CertificateError):
        return certificate_error_message(exc.cause)
    texts = {
        VisioError.UNREACHABLE: translate(
            "Messages",
            "The Visio server does not answer. Check your network connection; the link is "
            "kept so you can try again.",
        ),
        VisioError.NOT_VISIO: translate(
            "Messages", "This address is not a Visio server. Check the link you were sent."
        ),
        VisioError.UNKNOWN_ROOM: translate(
            "Messages", "This meeting does not exist on this server. Check the link."
        ),
        VisioError.SIGN_IN_REQUIRED: translate(
            "Messages", "This server needs you to sign in first."
        ),
        VisioError.SESSION_EXPIRED: translate(
            "Messages", "Your sign-in has expired: sign in again."
        ),
        VisioError.FORBIDDEN: translate("Messages", "The Visio server refused this request."),
        VisioError.NOT_FOUND: translate("Messages", "This person is no longer waiting."),
        VisioError.NOT_CONNECTED: translate(
            "Messages", "The Visio server does not see you in the meeting yet. Try again."
        ),
        VisioError.CAPTIONS_DISABLED: translate(
            "Messages", "Captions are not available on this server."
        ),
    }
    return texts.get(
        exc.kind,
        translate("Messages", "The Visio server had a problem. Try again in a moment."),
    )
