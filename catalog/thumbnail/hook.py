#!/usr/bin/env python3
"""thumbnail 1.0.0: saves one frame of the segment as a JPEG of the asked width.

A stagehooks catalog entry (catalog/thumbnail); the runtime contract is in catalog/README.md.
"""

ENTRY = "thumbnail"
DEFAULTS = {"at": 1.0, "width": 320, "quality": 3}

import json
import os
import re
import subprocess
import sys

# Bounded threads: the sandbox allows 64 processes/threads per hook.
FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error"]
FFMPEG += ["-filter_threads", "1", "-filter_complex_threads", "1"]
THREADS = ["-threads", "2"]


class HookError(Exception):
    """Ends the run as `failed`: exit 1 when the media fails the check, 2 when the hook cannot run."""

    def __init__(self, message, data=None, exit_code=2):
        super().__init__(message)
        self.message = message
        self.data = data
        self.exit_code = exit_code


def log(message):
    print(f"[{ENTRY}] {message}", file=sys.stderr, flush=True)


def emit(status, message, data=None, patch=None):
    """The result line: the last line on stdout, one JSON object."""
    result = {"status": status, "message": message}
    if data is not None:
        result["data"] = data
    if patch:
        result["patch"] = patch
    sys.stdout.write(json.dumps(result, separators=(",", ":"), allow_nan=False) + "\n")
    sys.stdout.flush()


def read_input():
    """The hook input: from STAGEHOOKS_INPUT_FILE when set (never blocks), else stdin."""
    path = os.environ.get("STAGEHOOKS_INPUT_FILE")
    if path and os.path.isfile(path):
        with open(path, encoding="utf-8") as file:
            raw = file.read()
    else:
        raw = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    if not raw.strip():
        raise HookError("no hook input on stdin or in STAGEHOOKS_INPUT_FILE")
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise HookError(f"the hook input is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise HookError("the hook input must be a JSON object")
    return value


def read_params():
    """argv[1] as a JSON object, with DEFAULTS under any key it leaves out; unknown keys are refused."""
    raw = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1].strip() else "{}"
    try:
        params = json.loads(raw)
    except ValueError as error:
        raise HookError(f"params (argv[1]) are not JSON: {error}") from None
    if not isinstance(params, dict):
        raise HookError("params (argv[1]) must be a JSON object")
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise HookError(f"unknown param {unknown[0]!r}; known: {', '.join(sorted(DEFAULTS))}")
    return {**DEFAULTS, **{key: value for key, value in params.items() if value is not None}}


def number_param(params, name, low=None, high=None, integer=False):
    value = params.get(name)
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and value != int(value)):
        raise HookError(f"param {name} must be {kind}, got {json.dumps(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise HookError(f"param {name} must be between {low} and {high}, got {value}")
    return int(value) if integer else float(value)


def string_param(params, name, choices=None, optional=False):
    value = params.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise HookError(f"param {name} must be a non-empty string, got {json.dumps(value)}")
    if choices is not None and value not in choices:
        raise HookError(f"param {name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def readable_file(path, what):
    if "://" in path:
        raise HookError(f"{what} is not a local file path: {path}")
    if not os.path.isfile(path):
        raise HookError(f"{what} does not exist or is not a file: {path}")
    if not os.access(path, os.R_OK):
        raise HookError(f"{what} is not readable: {path}")
    return path


def segment_file(hook_input):
    path = hook_input.get("segmentPath")
    if not isinstance(path, str) or not path:
        raise HookError("the hook input has no segmentPath (this hook needs the segment's media file)")
    return readable_file(path, "segmentPath")


def output_dir():
    path = os.environ.get("STAGEHOOKS_OUTPUT_DIR")
    if not path:
        raise HookError("STAGEHOOKS_OUTPUT_DIR is not set: the runner gives every job an output folder")
    if not os.path.isdir(path) or not os.access(path, os.W_OK):
        raise HookError(f"STAGEHOOKS_OUTPUT_DIR is not a writable folder: {path}")
    return path


def output_name(hook_input, source, extension=None):
    """`<hook name>-<source file name>`, so outputs of two hooks never collide."""
    hook = hook_input.get("hook") if isinstance(hook_input.get("hook"), dict) else {}
    prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", str(hook.get("name") or ENTRY))
    stem, source_extension = os.path.splitext(os.path.basename(source))
    return f"{prefix}-{stem[:160]}{extension if extension is not None else source_extension}"


def run(command, what):
    """Runs one tool (argument list, never a shell) and returns its stdout; stderr explains a failure."""
    try:
        done = subprocess.run(command, capture_output=True, encoding="utf-8", errors="replace", check=False)
    except FileNotFoundError:
        raise HookError(f"{command[0]} is not installed (needed to {what})") from None
    if done.returncode != 0:
        tail = " | ".join(line.strip() for line in done.stderr.strip().splitlines()[-3:])
        raise HookError(f"{command[0]} could not {what} (exit {done.returncode}): {tail or 'no message'}")
    return done


def probe(path):
    command = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path]
    done = run(command, "read the media")
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise HookError(f"ffprobe printed no JSON for {path}") from None


def first_stream(probed, kind):
    return next((s for s in probed.get("streams", []) if s.get("codec_type") == kind), None)


def as_float(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def main_guard(main):
    try:
        main()
    except HookError as error:
        log(error.message)
        emit("failed", error.message, error.data)
        sys.exit(error.exit_code)
    except Exception as error:  # a bug here must still end in a result line
        import traceback

        traceback.print_exc()
        emit("failed", f"{ENTRY} stopped on an unexpected error: {type(error).__name__}: {error}")
        sys.exit(2)


def clamp_time(at, duration, rate):
    """`at` moved into the clip: no earlier than 0, no later than its last frame."""
    if duration is None:
        return max(0.0, at)
    last = duration - (1.0 / rate if rate else 0.05)
    return round(min(max(0.0, at), max(0.0, last)), 3)


def display_aspect(video):
    width, height = int(video["width"]), int(video["height"])
    sar_w, _, sar_h = str(video.get("sample_aspect_ratio") or "1:1").partition(":")
    try:
        sar = int(sar_w) / int(sar_h)
    except (ValueError, ZeroDivisionError):
        sar = 1.0
    return width * (sar or 1.0) / height


def main():
    params = read_params()
    at = number_param(params, "at", 0, 86400)
    width = number_param(params, "width", 16, 7680, integer=True)
    quality = number_param(params, "quality", 2, 31, integer=True)
    hook_input = read_input()
    source = segment_file(hook_input)
    folder = output_dir()
    probed = probe(source)
    video = first_stream(probed, "video")
    if video is None:
        raise HookError(f"segmentPath has no video stream: {source}")
    rate_n, _, rate_d = str(video.get("avg_frame_rate") or "0/1").partition("/")
    rate = (as_float(rate_n) or 0) / (as_float(rate_d) or 1)
    taken_at = clamp_time(at, as_float(probed.get("format", {}).get("duration")), rate)
    height = max(1, round(width / display_aspect(video)))

    name = output_name(hook_input, source, ".jpg")
    target = os.path.join(folder, name)
    partial = os.path.join(folder, f".{name}.{os.getpid()}.part")
    command = FFMPEG + ["-y", "-ss", format(taken_at, ".3f")] + THREADS + ["-i", source]
    command += ["-map", "0:v:0", "-frames:v", "1", "-vf", f"scale={width}:{height},setsar=1"]
    command += ["-c:v", "mjpeg", "-q:v", str(quality), "-f", "image2", "-update", "1", partial]
    try:
        run(command, "take the frame")
        if not os.path.isfile(partial) or os.path.getsize(partial) == 0:
            raise HookError(f"ffmpeg wrote no frame at {taken_at} s of {source}")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    data = {"thumbnailPath": target, "width": width, "height": height, "at": taken_at}
    moved = f" (asked {at} s, moved into the clip)" if taken_at != at else ""
    emit("passed", f"{width}x{height} thumbnail at {taken_at} s{moved}: {target}", data)


if __name__ == "__main__":
    main_guard(main)
