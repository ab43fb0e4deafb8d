#!/usr/bin/env bash
# Debian packages the project needs: FFmpeg's libraries (torchcodec) and tools,
# and Chromium for the test that plays the heatmap videos in a real browser.
# Installs only what is missing; needs root (or sudo) only when something is.
set -euo pipefail
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
echo "installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
