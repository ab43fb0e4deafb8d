#!/usr/bin/env bash
# Debian packages the project needs: FFmpeg's libraries (torchcodec) and tools.
# Installs only what is missing; needs root (or sudo) only when something is.
set -euo pipefail
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
echo "installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
