#!/usr/bin/env python3
"""watermark 1.0.0: burns a text or a PNG image into a corner (or the centre) of the segment.

A stagehooks catalog entry (catalog/watermark); the runtime contract is in catalog/README.md.
"""

ENTRY = "watermark"
DEFAULTS = {
    "text": None,
    "image": None,
    "position": "bottom-right",
    "margin": 16,
    "opacity": 0.8,
    "fontSize": 24,
}
POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right", "center")
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
# Text is drawn white with a thin black outline, so it reads on light and dark pictures.
BORDER = 1

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

MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
PLAIN_PATH = re.compile(r"^[A-Za-z0-9_./+-]+$")


def text_origin(position, margin):
    """x and y of the text as drawtext expressions (w, h: the frame; text_w, text_h: the text)."""
    if position == "center":
        return "(w-text_w)/2", "(h-text_h)/2"
    x = str(margin) if position.endswith("left") else f"w-text_w-{margin}"
    y = str(margin) if position.startswith("top") else f"h-text_h-{margin}"
    return x, y


def image_origin(position, margin, mark_w, mark_h, width, height):
    if position == "center":
        return (width - mark_w) // 2, (height - mark_h) // 2
    x = margin if position.endswith("left") else width - mark_w - margin
    y = margin if position.startswith("top") else height - mark_h - margin
    return x, y


def find_font():
    for candidate in FONT_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    for root, _dirs, files in os.walk("/usr/share/fonts"):
        for name in sorted(files):
            if name.startswith("DejaVuSans") and name.endswith(".ttf") and "Mono" not in name:
                return os.path.join(root, name)
    raise HookError("no font for the text: DejaVuSans.ttf is not under /usr/share/fonts (fonts-dejavu-core)")


def scratch_copy(path, scratch, name):
    """A filter-graph-safe path: the path itself when plain, else a copy under a fresh temp folder."""
    if PLAIN_PATH.match(path):
        return path
    import shutil

    copy = os.path.join(scratch, name + os.path.splitext(path)[1].lower())
    shutil.copyfile(path, copy)
    return copy


def drawtext(font, text_file, size, opacity, x, y, measuring=False):
    colour = "white" if measuring else f"white@{opacity:.3g}"
    options = [f"fontfile={font}", f"textfile={text_file}", "expansion=none", f"fontsize={size}"]
    options += [f"fontcolor={colour}", f"x={x}", f"y={y}"]
    if not measuring:
        options += [f"borderw={BORDER}", f"bordercolor=black@{opacity:.3g}"]
    return "drawtext=" + ":".join(options)


def text_box(width, height, font, text_file, size, x, y):
    """The drawn text's bounding box, measured by drawing it on a black frame (None when unmeasurable)."""
    canvas = f"color=c=black:s={width}x{height}:d=0.04"
    chain = drawtext(font, text_file, size, 1, x, y, measuring=True) + ",bbox=min_val=16"
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", "-filter_threads", "1"]
    command += ["-f", "lavfi", "-i", canvas, "-vf", chain, "-frames:v", "1", "-f", "null", "-"]
    try:
        done = run(command, "measure the text")
    except HookError:
        return None
    found = re.search(r"x1:(-?\d+) x2:(-?\d+) y1:(-?\d+) y2:(-?\d+)", done.stderr)
    if not found:
        return None
    x1, x2, y1, y2 = (int(group) for group in found.groups())
    x1, y1 = max(0, x1 - BORDER), max(0, y1 - BORDER)
    x2, y2 = min(width - 1, x2 + BORDER), min(height - 1, y2 + BORDER)
    return {"x": x1, "y": y1, "w": x2 - x1 + 1, "h": y2 - y1 + 1}


def main():
    params = read_params()
    text = string_param(params, "text", optional=True)
    image = string_param(params, "image", optional=True)
    position = string_param(params, "position", POSITIONS)
    margin = number_param(params, "margin", 0, 4096, integer=True)
    opacity = number_param(params, "opacity", 0, 1)
    size = number_param(params, "fontSize", 4, 512, integer=True)
    if (text is None) == (image is None):
        raise HookError("give exactly one of params text and image")
    if "\n" in (text or "") or len(text or "") > 256:
        raise HookError("param text must be one line of at most 256 characters")
    font = find_font() if text is not None else None
    if image is not None:
        readable_file(image, "param image")
    hook_input = read_input()
    source = segment_file(hook_input)
    folder = output_dir()
    video = first_stream(probe(source), "video")
    if video is None:
        raise HookError(f"segmentPath has no video stream: {source}")
    width, height = int(video["width"]), int(video["height"])

    import shutil
    import tempfile

    scratch = tempfile.mkdtemp(prefix="stagehooks-watermark-")
    try:
        inputs = THREADS + ["-i", source]
        if text is not None:
            font = scratch_copy(font, scratch, "font")
            text_file = os.path.join(scratch, "text.txt")
            with open(text_file, "w", encoding="utf-8") as file:
                file.write(text)
            x, y = text_origin(position, margin)
            graph = ["-vf", drawtext(font, text_file, size, opacity, x, y)]
            box = text_box(width, height, font, text_file, size, x, y)
        else:
            mark = first_stream(probe(image), "video")
            if mark is None:
                raise HookError(f"param image is not an image ffmpeg can read: {image}")
            mark_w, mark_h = int(mark["width"]), int(mark["height"])
            if mark_w + 2 * margin > width or mark_h + 2 * margin > height:
                raise HookError(
                    f"the image ({mark_w}x{mark_h}) does not fit in the {width}x{height} picture "
                    f"with a margin of {margin} px"
                )
            x, y = image_origin(position, margin, mark_w, mark_h, width, height)
            box = {"x": x, "y": y, "w": mark_w, "h": mark_h}
            inputs += ["-i", image]
            overlay = f"[1:v]format=rgba,colorchannelmixer=aa={opacity:.3g}[mark];"
            overlay += f"[0:v][mark]overlay=x={box['x']}:y={box['y']}:format=auto[out]"
            graph = ["-filter_complex", overlay]

        name = output_name(hook_input, source)
        muxer = MUXERS.get(os.path.splitext(name)[1].lower())
        if muxer is None:
            name, muxer = os.path.splitext(name)[0] + ".mkv", "matroska"
        target = os.path.join(folder, name)
        partial = os.path.join(folder, f".{name}.{os.getpid()}.part")
        video_map = "[out]" if image is not None else "0:v:0"
        command = FFMPEG + ["-y"] + inputs + graph + ["-map", video_map, "-map", "0:a?"]
        command += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"] + THREADS
        command += ["-c:a", "copy", "-map_metadata", "0"]
        command += ["-movflags", "+faststart"] if muxer in ("mp4", "mov") else []
        command += ["-f", muxer, partial]
        log(f"watermarking {source} at {position}")
        try:
            run(command, "draw the watermark")
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    data = {"outputPath": target, "position": position}
    if box is not None:
        data["box"] = box
    emit("passed", f"watermarked to {target}", data, {"segmentPath": target})


if __name__ == "__main__":
    main_guard(main)
