#!/usr/bin/env bash
# Audio test environment for CI, meant to be *sourced* by .ci/run:
#
#   source .ci/audio-env.sh
#   trap gemlive_audio_env_stop EXIT
#   cargo test -p gemlive-audio --features device -- --ignored
#
# 1. Installs what the audio tests need (only what is missing): ALSA headers
#    to build cpal, the ALSA->PulseAudio plugin, PulseAudio, espeak-ng and sox.
# 2. Starts a headless, real-time paced PulseAudio (no sound card, D-Bus or
#    systemd needed) with a null sink "speaker" and a virtual microphone "mic"
#    fed through the null sink "micsink", and routes ALSA's "default" device
#    (which cpal opens) to it.
# 3. Exports XDG_RUNTIME_DIR, XDG_CONFIG_HOME, GEMLIVE_PULSE=1 and PULSE_PID.
#
# `gemlive_audio_env_stop` ends that PulseAudio and removes its runtime directory; a script that
# sources this file calls it on exit, after its own PulseAudio clients have ended (a client still
# connected when the server goes prints "Connection failure: Connection terminated").
#
# Feed the mic:       paplay --device=micsink speech.wav
# Record the speaker: parec --device=speaker.monitor --raw --format=s16le --rate=48000 --channels=1

gemlive_audio_env() {
  local pkgs=(libasound2-dev libasound2-plugins pulseaudio pulseaudio-utils espeak-ng sox pkg-config)
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "audio-env: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return 1
  fi

  # A private runtime dir, so parallel jobs (or a second source) do not collide.
  XDG_RUNTIME_DIR=$(mktemp -d -t gemlive-pa.XXXXXX) || return 1
  export XDG_RUNTIME_DIR
  chmod 700 "$XDG_RUNTIME_DIR"
  # Redirect stdout too, or a CI step waiting for the output never ends.
  pulseaudio -n --daemonize=no --exit-idle-time=-1 --disallow-exit --log-target=stderr --log-level=error \
    -L module-native-protocol-unix \
    -L "module-null-sink sink_name=speaker rate=48000 channels=2" \
    -L "module-null-sink sink_name=micsink rate=48000 channels=1" \
    -L "module-remap-source source_name=mic master=micsink.monitor channels=1" \
    -L module-always-sink >"$XDG_RUNTIME_DIR/pa.log" 2>&1 &
  export PULSE_PID=$!
  local i
  for i in $(seq 50); do
    pactl info >/dev/null 2>&1 && break
    sleep 0.1
  done
  if ! pactl info >/dev/null 2>&1; then
    echo "audio-env: PulseAudio did not start:" >&2
    cat "$XDG_RUNTIME_DIR/pa.log" >&2
    gemlive_audio_env_stop
    return 1
  fi
  pactl set-default-sink speaker
  pactl set-default-source mic
  # cpal's ALSA host reaches PulseAudio through ALSA "default" -> pulse
  # (libasound2-plugins). XDG_CONFIG_HOME/alsa/asoundrc is read after
  # /etc/alsa/conf.d, so it wins over e.g. pipewire-alsa.
  mkdir -p "$XDG_RUNTIME_DIR/cfg/alsa"
  printf 'pcm.!default { type pulse }\nctl.!default { type pulse }\n' >"$XDG_RUNTIME_DIR/cfg/alsa/asoundrc"
  export XDG_CONFIG_HOME="$XDG_RUNTIME_DIR/cfg"
  export GEMLIVE_PULSE=1
  echo "audio-env: PulseAudio $PULSE_PID ready in $XDG_RUNTIME_DIR" >&2
}

gemlive_audio_env_stop() {
  if [ -n "${PULSE_PID:-}" ]; then
    kill "$PULSE_PID" 2>/dev/null || true
    # Sourced into the shell that started it: `wait` reaps it, so the directory is free.
    wait "$PULSE_PID" 2>/dev/null || true
    unset PULSE_PID
  fi
  case "${XDG_RUNTIME_DIR:-}" in
    */gemlive-pa.*) rm -rf "$XDG_RUNTIME_DIR" ;;
  esac
}

gemlive_audio_env
