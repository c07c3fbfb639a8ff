#!/usr/bin/env python3
"""loudness-check 1.0.0: measures EBU R128 loudness and true peak and checks them against a target.

A stagehooks catalog entry (catalog/loudness-check); the runtime contract is in catalog/README.md.
"""

ENTRY = "loudness-check"
DEFAULTS = {"target": -23.0, "tolerance": 2.0, "maxTruePeak": -1.0}

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

SUMMARY = {
    "integrated": r"Integrated loudness:\s+I:\s+(\S+) LUFS",
    "lra": r"Loudness range:\s+LRA:\s+(\S+) LU",
    "truePeak": r"True peak:\s+Peak:\s+(\S+) dBFS",
}


def measure(source):
    """ebur128's summary (ffmpeg logs it at info level; framelog=verbose keeps the per-frame lines out)."""
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info", "-filter_threads", "1"]
    command += THREADS + ["-i", source, "-map", "0:a:0", "-filter:a", "ebur128=peak=true:framelog=verbose"]
    command += ["-f", "null", "-"]
    log_text = run(command, "measure the loudness").stderr
    summary = log_text[log_text.rfind("Summary:") :]
    if "Summary:" not in log_text:
        raise HookError("ffmpeg's ebur128 printed no summary")
    values = {}
    for key, pattern in SUMMARY.items():
        found = re.search(pattern, summary)
        if not found:
            raise HookError(f"ffmpeg's ebur128 summary has no {key}")
        # -inf (digital silence) has no JSON number: it stays null, and fails the check.
        values[key] = as_float(found.group(1))
    return values


def main():
    params = read_params()
    target = number_param(params, "target", -70, 0)
    tolerance = number_param(params, "tolerance", 0, 20)
    max_true_peak = number_param(params, "maxTruePeak", -70, 6)
    source = segment_file(read_input())
    limits = {"target": target, "tolerance": tolerance, "maxTruePeak": max_true_peak}
    if first_stream(probe(source), "audio") is None:
        data = {"integrated": None, "truePeak": None, "lra": None, **limits}
        raise HookError(f"no audio stream to measure in {source}", data, exit_code=1)
    measured = measure(source)
    data = {**measured, **limits}
    integrated, true_peak = measured["integrated"], measured["truePeak"]
    problems = []
    if integrated is None or abs(integrated - target) > tolerance:
        problems.append(f"integrated loudness {integrated} LUFS is outside {target} +/- {tolerance} LU")
    if true_peak is not None and true_peak > max_true_peak:
        problems.append(f"true peak {true_peak} dBTP is above {max_true_peak} dBTP")
    if problems:
        raise HookError("; ".join(problems), data, exit_code=1)
    emit("passed", f"{integrated} LUFS (target {target} +/- {tolerance} LU), true peak {true_peak} dBTP", data)


if __name__ == "__main__":
    main_guard(main)
