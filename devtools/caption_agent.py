"""A real ``livekit-agents`` transcription worker with a scripted speech-to-text plugin.

It exists to test our captions against what the agents framework really publishes: an
``AgentSession`` whose only model is :class:`ScriptedSTT` (no VAD, LLM, TTS or turn-detector
model, so nothing is downloaded) and a ``RoomIO`` with text output only.  The framework then
sends every user transcript the way it does in production, as legacy ``Transcription``
packets and as ``lk.transcription`` text streams.

The STT ignores what the audio says: once frames of the linked participant's microphone
arrive, it "hears" the scripted sentences, word by word as interim transcripts, then each
sentence as a final transcript.

The worker runs in a process of its own (``python -m devtools.caption_agent``) so that the
framework's global state (environment variables, loggers, the FFI room) stays out of the
caller's process; jobs run on threads inside it, so there is only one process to clean up.
It registers with an agent name, so it only joins rooms it is explicitly dispatched to
(:func:`dispatch`), never the other rooms of a shared test server.  The dispatch metadata,
if any, is the identity of the participant to transcribe.

Developer tool only: the application never imports ``livekit-agents``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, Literal

from livekit import api
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    Agent,
    AgentServer,
    AgentSession,
    APIConnectOptions,
    AutoSubscribe,
    JobContext,
    JobExecutorType,
    NotGivenOr,
    room_io,
    stt,
)
from livekit.agents.language import LanguageCode
from livekit.agents.utils import AudioBuffer

log = logging.getLogger("devtools.caption_agent")

DEFAULT_AGENT_NAME = "visio-caption-agent"
DEFAULT_SENTENCES = (
    "Bonjour à tous et bienvenue.",
    "Nous allons parler des sous-titres.",
    "Chaque phrase doit apparaître une seule fois.",
)
#: Printed on stdout once the server has registered the worker: dispatching before that
#: would leave the job waiting for a worker.
READY_MARKER = "caption-agent registered"
WORD_INTERVAL_S = 0.15
SENTENCE_PAUSE_S = 0.6
LANGUAGE = "fr"
_PR_SET_PDEATHSIG = 1


# --- the scripted speech-to-text plugin ---------------------------------------------------


class ScriptedSTT(stt.STT[Literal["metrics_collected", "error"]]):
    """A streaming STT that "recognises" a fixed script, whatever the audio says."""

    def __init__(
        self,
        sentences: Sequence[str] = DEFAULT_SENTENCES,
        *,
        word_interval_s: float = WORD_INTERVAL_S,
        sentence_pause_s: float = SENTENCE_PAUSE_S,
        language: str = LANGUAGE,
    ) -> None:
        super().__init__(
            capabilities=stt.STTCapabilities(
                streaming=True, interim_results=True, offline_recognize=False
            )
        )
        self.sentences = tuple(sentences)
        # Shared by its streams: should the framework open a new stream, it goes on with
        # the script instead of saying it all again.
        self.next_sentence = 0
        self.word_interval_s = word_interval_s
        self.sentence_pause_s = sentence_pause_s
        self.language = language

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "visio-devtools"

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        # Declared offline_recognize=False: the session only ever streams.
        raise NotImplementedError("ScriptedSTT only streams")

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> ScriptedSpeechStream:
        return ScriptedSpeechStream(stt=self, conn_options=conn_options)


class ScriptedSpeechStream(stt.RecognizeStream):
    _stt: ScriptedSTT

    async def _run(self) -> None:
        first_frame = asyncio.Event()
        drain = asyncio.create_task(self._drain_input(first_frame))
        try:
            # Like a real recognizer, hear nothing before audio: the framework stamps each
            # transcript with the microphone track it came from, known only by then.
            await first_frame.wait()
            await self._speak()
            # Keep consuming audio until the framework closes the stream.
            await drain
        finally:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain

    async def _drain_input(self, first_frame: asyncio.Event) -> None:
        async for item in self._input_ch:
            if not isinstance(item, stt.RecognizeStream._FlushSentinel):
                first_frame.set()

    async def _speak(self) -> None:
        plugin = self._stt
        while plugin.next_sentence < len(plugin.sentences):
            sentence = plugin.sentences[plugin.next_sentence]
            plugin.next_sentence += 1
            number = plugin.next_sentence
            request_id = f"scripted-{number}"
            self._send(stt.SpeechEventType.START_OF_SPEECH, request_id)
            words = sentence.split()
            for count in range(1, len(words)):
                self._send(
                    stt.SpeechEventType.INTERIM_TRANSCRIPT, request_id, " ".join(words[:count])
                )
                await asyncio.sleep(plugin.word_interval_s)
            self._send(stt.SpeechEventType.FINAL_TRANSCRIPT, request_id, sentence)
            self._send(stt.SpeechEventType.END_OF_SPEECH, request_id)
            log.info("scripted sentence %d final: %s", number, sentence)
            await asyncio.sleep(plugin.sentence_pause_s)

    def _send(self, kind: stt.SpeechEventType, request_id: str, text: str | None = None) -> None:
        alternatives = (
            [stt.SpeechData(language=LanguageCode(self._stt.language), text=text, confidence=1.0)]
            if text is not None
            else []
        )
        self._event_ch.send_nowait(
            stt.SpeechEvent(type=kind, request_id=request_id, alternatives=alternatives)
        )


# --- the worker -------------------------------------------------------------------------


def make_entrypoint(sentences: Sequence[str]) -> Callable[[JobContext], Awaitable[None]]:
    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect(auto_subscribe=AutoSubscribe.AUDIO_ONLY)
        participant = ctx.job.metadata.strip()
        session: AgentSession[None] = AgentSession(
            stt=ScriptedSTT(sentences),
            # No VAD and manual turns: the defaults would load the silero VAD and the
            # turn-detector models; with manual turns no reply is ever generated, so no
            # LLM or TTS is needed, yet every transcript is still published.
            vad=None,
            turn_handling={"turn_detection": "manual"},
            user_away_timeout=None,
        )
        await session.start(
            agent=Agent(instructions="Transcribe the participant."),
            room=ctx.room,
            room_options=room_io.RoomOptions(
                text_input=False,
                audio_output=False,
                text_output=room_io.TextOutputOptions(sync_transcription=False),
                participant_identity=participant or NOT_GIVEN,
                close_on_disconnect=True,
            ),
            record=False,
        )
        log.info("transcribing %s in %s", participant or "the first participant", ctx.room.name)

    return entrypoint


def make_server(
    url: str, api_key: str, api_secret: str, *, agent_name: str, sentences: Sequence[str]
) -> AgentServer:
    server = AgentServer(
        # Threads start in milliseconds and leave a single process to clean up.
        job_executor_type=JobExecutorType.THREAD,
        num_idle_processes=0,
        # The default threshold marks a busy 2-core CI machine "full" and refuses jobs.
        load_threshold=float("inf"),
        ws_url=url,
        api_key=api_key,
        api_secret=api_secret,
        port=0,
        http_proxy=None,
        shutdown_process_timeout=5.0,
    )
    server.rtc_session(make_entrypoint(sentences), agent_name=agent_name)
    return server


async def run_worker(
    url: str, api_key: str, api_secret: str, *, agent_name: str, sentences: Sequence[str]
) -> None:
    server = make_server(url, api_key, api_secret, agent_name=agent_name, sentences=sentences)

    def registered(worker_id: str, _info: object) -> None:
        print(f"{READY_MARKER} {worker_id}", flush=True)

    server.on("worker_registered", registered)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    running = asyncio.create_task(server.run(devmode=True))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    await server.aclose()
    stopping.cancel()
    if running.done():
        running.result()  # a worker that failed to start must fail the process
    else:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def dispatch(
    url: str,
    api_key: str,
    api_secret: str,
    *,
    room: str,
    agent_name: str = DEFAULT_AGENT_NAME,
    participant: str = "",
) -> str:
    """Ask the server to send the worker to ``room``; returns the dispatch id."""
    async with api.LiveKitAPI(url, api_key, api_secret) as lkapi:
        created = await lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name=agent_name, room=room, metadata=participant)
        )
    return str(created.id)


# --- running it in a child process --------------------------------------------------------


class CaptionAgentProcess:
    """The worker in a child process, with its log in ``log_path``."""

    def __init__(
        self,
        url: str,
        api_key: str,
        api_secret: str,
        *,
        log_path: Path,
        agent_name: str = DEFAULT_AGENT_NAME,
        sentences: Sequence[str] = DEFAULT_SENTENCES,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.api_secret = api_secret
        self.agent_name = agent_name
        self.sentences = tuple(sentences)
        self.log_path = log_path
        self.worker_id = ""
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def command(self) -> list[str]:
        args = [sys.executable, "-m", "devtools.caption_agent", "--url", self.url]
        args += ["--api-key", self.api_key, "--agent-name", self.agent_name]
        for sentence in self.sentences:
            args += ["--sentence", sentence]
        return args

    async def start(self, timeout_s: float = 30.0) -> None:
        """Start the worker and wait until the server has registered it."""
        env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
        # The secret goes through the environment, not the command line others can read.
        env["LIVEKIT_API_SECRET"] = self.api_secret
        self._log = self.log_path.open("w", encoding="utf-8")
        self._process = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            preexec_fn=_die_with_parent(),
        )
        line = await asyncio.wait_for(asyncio.to_thread(self._read_ready), timeout_s)
        if not line:
            raise RuntimeError(f"caption agent exited before registering:\n{self.log_tail()}")
        self.worker_id = line.removeprefix(READY_MARKER).strip()

    def _read_ready(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            if line.startswith(READY_MARKER):
                return line
        return ""

    async def dispatch(self, room: str, participant: str = "") -> str:
        return await dispatch(
            self.url,
            self.api_key,
            self.api_secret,
            room=room,
            agent_name=self.agent_name,
            participant=participant,
        )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the worker to shut down (SIGTERM), kill it if it does not in time."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that kills the worker when its parent dies (a SIGKILLed test run).

    The signal fires when the forking *thread* exits, so it is only safe to set from the
    main thread, whose end is the end of the process.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    libc = ctypes.util.find_library("c") or "libc.so.6"

    def set_pdeathsig() -> None:
        ctypes.CDLL(libc).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return set_pdeathsig


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.caption_agent", description=__doc__)
    parser.add_argument("--url", default=os.environ.get("LIVEKIT_URL", ""))
    parser.add_argument("--api-key", default=os.environ.get("LIVEKIT_API_KEY", ""))
    parser.add_argument("--agent-name", default=DEFAULT_AGENT_NAME)
    parser.add_argument(
        "--sentence", action="append", dest="sentences", help="a scripted sentence (repeat)"
    )
    args = parser.parse_args(argv)
    secret = os.environ.get("LIVEKIT_API_SECRET", "")
    if not (args.url and args.api_key and secret):
        parser.error("--url, --api-key and LIVEKIT_API_SECRET in the environment are required")
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    started = time.monotonic()
    asyncio.run(
        run_worker(
            args.url,
            args.api_key,
            secret,
            agent_name=args.agent_name,
            sentences=tuple(args.sentences or DEFAULT_SENTENCES),
        )
    )
    log.info("worker stopped after %.1f s", time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
