#!/usr/bin/env bash
# Optional Debian packages: installed when missing and installable without a prompt, otherwise skipped.
#
# Nothing the workflow runs needs them: the Python wheels bundle their own
# FFmpeg (PyAV decodes and writes the H.264 videos, decord decodes). They add:
#   ffmpeg    FFmpeg's shared libraries, which torchcodec (the fastest decoder,
#             picked by `decoder: auto`) loads from the system; without them
#             decoding goes through PyAV's bundled FFmpeg (same frames, slower).
#   chromium  the test that plays the rendered videos in a real browser
#             (tests/browser); it is skipped, with the reason, without it.
#
# Usage: system-deps.sh [ffmpeg] [chromium]      (no argument: both)
# Installs with apt-get as root, or through passwordless sudo (`sudo -n`);
# never asks for a password. Otherwise it prints one line saying what is
# skipped and what it would add, and exits 0: an ordinary user on a cluster
# login node can run `make demo`. Environment:
#   VIDEOXAI_SYSTEM_DEPS=skip   never install (e.g. root in a container you keep minimal)
#   CI=true                     a package that cannot be installed is an error, so CI
#                               cannot silently lose coverage (exit 1)
set -euo pipefail

log() { echo "system-deps: $*" >&2; }
ci() { case "${CI:-}" in true | TRUE | True | 1 | yes) return 0 ;; *) return 1 ;; esac; }

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(ffmpeg chromium)

# Each package: is it here already, and what does it add.
have_ffmpeg() {
    # torchcodec needs the libraries, not the binary: a module system puts both on the paths
    # (PATH, LD_LIBRARY_PATH); Debian's packages put the libraries in ld.so's cache.
    command -v ffmpeg >/dev/null 2>&1 && return 0
    local ldconfig
    ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
    [ -x "$ldconfig" ] || return 1
    local cache
    cache=$("$ldconfig" -p 2>/dev/null) || return 1
    for lib in libavutil libavcodec libavformat libavfilter libavdevice libswscale; do
        grep -q "$lib\.so\.[0-9]" <<<"$cache" || return 1
    done
}
have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
adds() {
    case "$1" in
        ffmpeg) echo "ffmpeg = torchcodec, the fastest decoder (PyAV's bundled FFmpeg decodes instead)" ;;
        chromium) echo "chromium = the browser playback test (tests/browser, skipped without it)" ;;
    esac
}

need=()
for pkg in "${wanted[@]}"; do
    case "$pkg" in
        ffmpeg) have_ffmpeg || need+=(ffmpeg) ;;
        chromium) have_chromium || need+=(chromium) ;;
        *) log "unknown package '$pkg' (known: ffmpeg, chromium)"; exit 2 ;;
    esac
done
[ ${#need[@]} -gt 0 ] || exit 0

what=""
for pkg in "${need[@]}"; do what="${what:+$what; }$(adds "$pkg")"; done

# Can we install without prompting anyone?
why_not=""
if [ "${VIDEOXAI_SYSTEM_DEPS:-}" = skip ]; then
    why_not="VIDEOXAI_SYSTEM_DEPS=skip"
elif ! command -v apt-get >/dev/null 2>&1; then
    why_not="no apt-get: not a Debian-like system"
elif [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    why_not="not root and no passwordless sudo"
fi

if [ -n "$why_not" ]; then
    if ci; then
        log "ERROR: CI=true but ${need[*]} cannot be installed ($why_not); CI must run everything: $what"
        exit 1
    fi
    log "skipping optional ${need[*]} ($why_not); it would add: $what"
    exit 0
fi

log "installing Debian packages: ${need[*]}"
rc=0
{ "${SUDO[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${need[@]}"; } \
    >/dev/null || rc=$?
if [ "$rc" -ne 0 ]; then
    if ci; then
        log "ERROR: apt-get install ${need[*]} failed (exit $rc); CI must run everything: $what"
        exit 1
    fi
    log "apt-get install ${need[*]} failed (exit $rc); going on without it, which loses: $what"
fi
exit 0
