#!/usr/bin/env python3
"""color-grade 1.0.0: applies a 3D LUT and/or exposure, contrast and saturation to the segment.

A stagehooks catalog entry (catalog/color-grade); the runtime contract is in catalog/README.md.
"""

ENTRY = "color-grade"
DEFAULTS = {"lut": None, "exposure": 0.0, "contrast": 1.0, "saturation": 1.0}
LUT_EXTENSIONS = (".cube", ".3dl", ".dat", ".m3d", ".csp")

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

# Containers that take H.264 plus whatever audio the source has; anything else becomes Matroska.
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
# A path ffmpeg's filter-graph syntax reads literally; any other is copied to one first.
PLAIN_PATH = re.compile(r"^[A-Za-z0-9_./+-]+$")


def ffmpeg_has(kind, name):
    listing = run(FFMPEG + [f"-{kind}"], f"list its {kind}").stdout
    return any(line.split()[1:2] == [name] for line in listing.splitlines() if line.strip())


def number(value):
    return format(value, ".6g")


def plain_path(path, scratch):
    if PLAIN_PATH.match(path):
        return path
    import shutil
    import tempfile

    folder = scratch.setdefault("dir", tempfile.mkdtemp(prefix="stagehooks-grade-"))
    copy = os.path.join(folder, "lut" + os.path.splitext(path)[1].lower())
    shutil.copyfile(path, copy)
    return copy


def filter_chain(lut, exposure, contrast, saturation, scratch):
    filters = []
    if exposure != 0:
        if ffmpeg_has("filters", "exposure"):
            filters.append(f"exposure=exposure={number(exposure)}")
        else:
            # The same operation on code values as the exposure filter: scale by 2^stops.
            gain = number(2**exposure)
            filters.append(f"lutrgb=r=val*{gain}:g=val*{gain}:b=val*{gain}")
    if contrast != 1 or saturation != 1:
        filters.append(f"eq=contrast={number(contrast)}:saturation={number(saturation)}")
    if lut is not None:
        filters.append(f"lut3d=file={plain_path(lut, scratch)}:interp=tetrahedral")
    return ",".join(filters)


def main():
    params = read_params()
    lut = string_param(params, "lut", optional=True)
    exposure = number_param(params, "exposure", -3, 3)
    contrast = number_param(params, "contrast", 0, 3)
    saturation = number_param(params, "saturation", 0, 3)
    if lut is not None:
        readable_file(lut, "param lut")
        if not lut.lower().endswith(LUT_EXTENSIONS):
            raise HookError(f"param lut must be a {', '.join(LUT_EXTENSIONS)} file, got {lut}")
    if lut is None and exposure == 0 and contrast == 1 and saturation == 1:
        raise HookError("nothing to grade: give lut, or exposure / contrast / saturation away from 0 / 1 / 1")
    hook_input = read_input()
    source = segment_file(hook_input)
    folder = output_dir()
    if first_stream(probe(source), "video") is None:
        raise HookError(f"segmentPath has no video stream: {source}")
    if not ffmpeg_has("encoders", "libx264"):
        raise HookError("this ffmpeg has no libx264 encoder")

    scratch = {}
    try:
        filters = filter_chain(lut, exposure, contrast, saturation, scratch)
        name = output_name(hook_input, source)
        muxer = MUXERS.get(os.path.splitext(name)[1].lower())
        if muxer is None:
            name, muxer = os.path.splitext(name)[0] + ".mkv", "matroska"
        target = os.path.join(folder, name)
        partial = os.path.join(folder, f".{name}.{os.getpid()}.part")
        log(f"grading {source} with {filters}")
        command = FFMPEG + ["-y"] + THREADS + ["-i", source, "-map", "0:v:0", "-map", "0:a?", "-vf", filters]
        command += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"] + THREADS
        command += ["-c:a", "copy", "-map_metadata", "0"]
        command += ["-movflags", "+faststart"] if muxer in ("mp4", "mov") else []
        command += ["-f", muxer, partial]
        try:
            run(command, "grade the segment")
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    finally:
        if "dir" in scratch:
            import shutil

            shutil.rmtree(scratch["dir"], ignore_errors=True)
    emit("passed", f"graded to {target}", {"outputPath": target, "filters": filters}, {"segmentPath": target})


if __name__ == "__main__":
    main_guard(main)
