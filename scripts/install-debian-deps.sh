#!/usr/bin/env bash
# Install the Debian 12 (bookworm) packages Visio Desktop, its tests and the local
# sandbox need. Only missing packages are installed, so a second run is a quick no-op.
# Python packages (PyAV ships its own FFmpeg, PySide6 its own Qt) come from `make venv`.
set -euo pipefail

packages=(
    # Sandbox: network namespaces and veth pairs for livekit-server and the peers.
    iproute2
    # Network-fault tests (devtools/netfaults): nft drops packets on the veth to the server
    # namespace, iptables feeds its NFQUEUE target (latency; this kernel has no netem).
    nftables iptables
    # Headless GUI tests and the demo without a display.
    xvfb xauth
    # Virtual audio devices for tests; libportaudio2 is what `sounddevice` loads.
    # ALSA's pulse plugin (libasound2-plugins) is how PortAudio reaches PulseAudio.
    pulseaudio pulseaudio-utils libpulse0 libportaudio2 libasound2-plugins
    # Qt (PySide6 wheels) on X11: `ldd` on the xcb platform plugin lists these.
    libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4
    libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0
    libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxcb-xkb1
    # Qt on Wayland, OpenGL/EGL, fonts, D-Bus and NSS.
    libwayland-cursor0 libwayland-egl1 libegl1 libgl1 libopengl0 libfontconfig1
    libfreetype6 libdbus-1-3 libnss3 libglib2.0-0 fonts-dejavu-core
    # Screen sharing lists screens and windows through libX11 and libXrandr (ctypes);
    # the capture itself is PyAV's own x11grab.
    libx11-6 libxrandr2
    # Real speech for the loss-concealment tests and `python -m bench loss` (Opus
    # FEC and PLC behave differently on speech than on tones).
    espeak-ng
    # The browser peer of the tests (devtools/browser_peer): headless Chromium, driven
    # by playwright-core, which never downloads a browser of its own.
    chromium
    # Qt WebEngine (the sign-in window): `readelf -d` on QtWebEngineProcess and
    # libQt6WebEngine* lists these.
    libxcomposite1 libxdamage1 libxext6 libxfixes3 libxtst6 libxkbfile1 libxcb-dri3-0
    libgbm1 libnspr4 libasound2 libexpat1 libudev1
    # Sign-ins are kept in the keychain: the tests run a real Secret Service
    # (gnome-keyring on a private D-Bus session bus, devtools/secret_service.py).
    dbus-daemon gnome-keyring
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

# Node.js builds and drives the browser peer (npm ci, esbuild, playwright-core, which
# needs Node 20+). It may come from elsewhere than Debian (NodeSource, nvm): only a
# machine without any `node` gets Debian's.
if ! command -v node >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

if [ "${#missing[@]}" -eq 0 ]; then
    echo "Debian packages: all ${#packages[@]} present."
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found; install these packages by hand: ${missing[*]}" >&2
    exit 1
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    as_root=(sudo)
fi

echo "Installing missing Debian packages: ${missing[*]}"
# Recommends are skipped: pulseaudio alone would pull in a desktop's worth of packages.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "${missing[@]}"
