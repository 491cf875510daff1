"""Each rule of the schema and the model profile, broken alone, gives its exact Runware error."""

from __future__ import annotations

import copy

import pytest

from mockserver.validation import validate_task, with_defaults

TASK_UUID = "0d84f171-2e54-4c07-836e-05788795736d"
IMAGE_UUID = "aac49721-1964-481a-ae78-8a4e29b91402"
PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
PNG_DATA_URI = "data:image/png;base64," + PNG_BASE64
WAV_BASE64 = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA="  # an empty 8 kHz mono WAV
ALLOWED_SIZES = ["1280x720", "720x1280", "960x960", "1088x832", "832x1088",
                 "1920x1080", "1080x1920", "1440x1440", "1632x1248", "1248x1632"]


def text_to_video(**changes):
    task = {"taskType": "videoInference", "taskUUID": TASK_UUID, "model": "alibaba:wan@2.7",
            "positivePrompt": "a red fox in snow", "width": 1280, "height": 720}
    task.update(changes)
    return task


def without(task, *keys):
    return {k: v for k, v in task.items() if k not in keys}


def first_error(task):
    errors = validate_task(task)
    assert errors, f"expected an error for {task}"
    return errors[0]


VALID = [
    text_to_video(),
    text_to_video(outputType="URL", outputFormat="WEBM", outputQuality=20, deliveryMethod="async",
                  webhookURL="http://127.0.0.1:9/hook?token=abc", uploadEndpoint="https://bucket.example/put?sig=1",
                  safety={"checkContent": True, "mode": "full"}, ttl=60, includeCost=True, numberResults=4,
                  negativePrompt="blur", resolution="720p", duration=15, seed=2147483647,
                  settings={"audio": False, "promptEnhancer": False}),
    text_to_video(outputFormat="MOV", outputQuality=99, seed=0, duration=2),
    without(text_to_video(inputs={"frameImages": [IMAGE_UUID]}), "positivePrompt", "width", "height"),
    without(text_to_video(inputs={"frameImages": [PNG_DATA_URI, {"image": "https://x.example/l.jpg", "frame": "last"}]}),
            "width", "height"),
    text_to_video(inputs={"frameImages": [{"image": PNG_BASE64, "frame": 0}, {"image": IMAGE_UUID, "frame": -1}]}),
    text_to_video(inputs={"frameImages": [{"image": IMAGE_UUID, "frame": "last"}]}),
    text_to_video(inputs={"referenceImages": [IMAGE_UUID, "https://x.example/a.png"],
                          "referenceVideos": ["https://x.example/v.mp4"], "audio": IMAGE_UUID},
                  settings={"shotType": "multi"}, duration=10),
    text_to_video(inputs={"audio": "https://x.example/a.wav"}),
]


@pytest.mark.parametrize("task", VALID)
def test_valid_requests_have_no_violations(task):
    assert validate_task(task) == []


# (description, task, code, parameter, extra fields that must be present with these values)
INVALID = [
    ("missing taskUUID", without(text_to_video(), "taskUUID"), "missingTaskUUID", "taskUUID", {}),
    ("taskUUID of no UUID version", text_to_video(taskUUID="0d84f171-2e54-0c07-836e-05788795736d"), "invalidTaskUUID", "taskUUID", {"type": "string"}),
    ("taskUUID of another variant", text_to_video(taskUUID="0d84f171-2e54-4c07-c36e-05788795736d"), "invalidTaskUUID", "taskUUID", {"type": "string"}),
    ("taskUUID not a string", text_to_video(taskUUID=42), "invalidTaskUUID", "taskUUID", {"type": "string"}),
    ("taskUUID with a trailing newline", text_to_video(taskUUID=TASK_UUID + "\n"), "invalidTaskUUID", "taskUUID", {}),
    ("missing model", without(text_to_video(), "model"), "missingModel", "model", {}),
    ("unknown model", text_to_video(model="klingai:5@3"), "unknownModel", "model", {"allowedValues": ["alibaba:wan@2.7"]}),
    ("malformed model", text_to_video(model="wan 2.7"), "invalidModel", "model", {}),
    ("outputType", text_to_video(outputType="base64Data"), "unsupportedOutputType", "outputType", {"allowedValues": ["URL"]}),
    ("outputFormat", text_to_video(outputFormat="GIF"), "unsupportedOutputFormat", "outputFormat", {"allowedValues": ["MP4", "WEBM", "MOV"]}),
    ("outputFormat case", text_to_video(outputFormat="mp4"), "unsupportedOutputFormat", "outputFormat", {}),
    ("outputQuality low", text_to_video(outputQuality=19), "invalidOutputQuality", "outputQuality", {"min": 20, "max": 99}),
    ("outputQuality high", text_to_video(outputQuality=100), "invalidOutputQuality", "outputQuality", {"min": 20, "max": 99}),
    ("outputQuality float", text_to_video(outputQuality=50.5), "invalidOutputQuality", "outputQuality", {"type": "integer"}),
    ("webhookURL", text_to_video(webhookURL="ftp://x/y"), "invalidWebhookURL", "webhookURL", {}),
    ("webhookURL with a trailing newline", text_to_video(webhookURL="http://127.0.0.1:9/hook\n"), "invalidWebhookURL", "webhookURL", {}),
    # Python's \s holds \x1c-\x1f and \x85, ECMA-262's holds \ufeff: the pattern names them all, so that
    # every reader of the schema (vidmock, fastjsonschema, schemathesis, a JavaScript client) agrees
    ("webhookURL with a unit separator", text_to_video(webhookURL="http://127.0.0.1:9/a\x1fb"), "invalidWebhookURL", "webhookURL", {}),
    ("webhookURL with a next-line", text_to_video(webhookURL="http://127.0.0.1:9/a\x85b"), "invalidWebhookURL", "webhookURL", {}),
    ("webhookURL with a byte-order mark", text_to_video(webhookURL="http://127.0.0.1:9/a\ufeffb"), "invalidWebhookURL", "webhookURL", {}),
    ("uploadEndpoint with a control character in the host", text_to_video(uploadEndpoint="http://a\x11b/put"), "invalidUploadEndpoint", "uploadEndpoint", {}),
    ("deliveryMethod", text_to_video(deliveryMethod="sync"), "unsupportedDeliveryMethod", "deliveryMethod", {"allowedValues": ["async"]}),
    ("uploadEndpoint", text_to_video(uploadEndpoint="not a url"), "invalidUploadEndpoint", "uploadEndpoint", {}),
    ("safety type", text_to_video(safety=True), "invalidSafety", "safety", {"type": "object"}),
    ("safety.mode", text_to_video(safety={"mode": "strict"}), "unsupportedMode", "safety.mode", {"allowedValues": ["none", "fast", "full"]}),
    ("safety.checkContent", text_to_video(safety={"checkContent": "yes"}), "invalidCheckContent", "safety.checkContent", {"type": "boolean"}),
    ("safety unknown key", text_to_video(safety={"tolerance": 1}), "unsupportedParameter", "safety.tolerance", {}),
    ("ttl", text_to_video(ttl=59), "invalidTtl", "ttl", {"min": 60}),
    ("includeCost", text_to_video(includeCost="true"), "invalidIncludeCost", "includeCost", {"type": "boolean"}),
    ("numberResults 0", text_to_video(numberResults=0), "invalidNumberResults", "numberResults", {"min": 1, "max": 4}),
    ("numberResults 5", text_to_video(numberResults=5), "invalidNumberResults", "numberResults", {"min": 1, "max": 4}),
    ("inputs type", text_to_video(inputs=[]), "invalidInputs", "inputs", {"type": "object"}),
    ("inputs unknown key", text_to_video(inputs={"video": "https://x.example/v.mp4"}), "unsupportedParameter", "inputs.video", {}),
    ("referenceImages empty", text_to_video(inputs={"referenceImages": []}), "invalidReferenceImages", "inputs.referenceImages", {"min": 1}),
    ("referenceImages item", text_to_video(inputs={"referenceImages": ["not an image!"]}), "invalidReferenceImages", "inputs.referenceImages[0]", {}),
    ("frameImages empty", without(text_to_video(inputs={"frameImages": []}), "width", "height"), "invalidFrameImages", "inputs.frameImages", {"min": 1, "max": 2}),
    ("frameImages 3 items", text_to_video(inputs={"frameImages": [IMAGE_UUID] * 3}), "invalidFrameImages", "inputs.frameImages", {"min": 1, "max": 2}),
    ("frameImages bad string", text_to_video(inputs={"frameImages": ["??"]}), "invalidFrameImages", "inputs.frameImages[0]", {}),
    ("frameImages object without image", text_to_video(inputs={"frameImages": [{"frame": "first"}]}), "missingImage", "inputs.frameImages[0].image", {}),
    ("frameImages bad frame", text_to_video(inputs={"frameImages": [{"image": IMAGE_UUID, "frame": "middle"}]}), "unsupportedFrame", "inputs.frameImages[0].frame", {"allowedValues": ["first", "last", 0, -1]}),
    ("frameImages legacy inputImage", text_to_video(inputs={"frameImages": [{"image": IMAGE_UUID, "inputImage": IMAGE_UUID}]}), "unsupportedParameter", "inputs.frameImages[0].inputImage", {}),
    ("frameImages same position", text_to_video(inputs={"frameImages": [IMAGE_UUID, {"image": IMAGE_UUID, "frame": 0}]}), "invalidFrameImages", "inputs.frameImages", {}),
    ("referenceVideos empty", text_to_video(inputs={"referenceVideos": []}), "invalidReferenceVideos", "inputs.referenceVideos", {"min": 1}),
    ("referenceVideos base64", text_to_video(inputs={"referenceVideos": ["AAAA"]}), "invalidReferenceVideos", "inputs.referenceVideos[0]", {}),
    ("audio", text_to_video(inputs={"audio": PNG_DATA_URI}), "invalidAudio", "inputs.audio", {}),
    # inline images are decoded: bytes that are no listed image are invalidImage, naming the parameter
    ("frame image of zero bytes", text_to_video(inputs={"frameImages": ["data:image/png;base64,AAAA"]}), "invalidImage", "inputs.frameImages[0]", {"type": "string"}),
    ("frame image of a PNG signature only", text_to_video(inputs={"frameImages": [{"image": "iVBORw0KGgo=", "frame": 0}]}), "invalidImage", "inputs.frameImages[0].image", {}),
    ("reference image of text", text_to_video(inputs={"referenceImages": [IMAGE_UUID, "SGVsbG8sIHdvcmxkIQ=="]}), "invalidImage", "inputs.referenceImages[1]", {}),
    ("reference image of audio", text_to_video(inputs={"referenceImages": ["data:image/png;base64," + WAV_BASE64]}), "invalidImage", "inputs.referenceImages[0]", {}),
    ("top-level frameImages", text_to_video(frameImages=[{"inputImage": IMAGE_UUID}]), "unsupportedParameter", "frameImages", {}),
    ("unknown field", text_to_video(fps=24), "unsupportedParameter", "fps", {}),
    ("positivePrompt type", text_to_video(positivePrompt=5), "invalidPositivePrompt", "positivePrompt", {"type": "string"}),
    ("positivePrompt empty", text_to_video(positivePrompt=""), "invalidPositivePromptLength", "positivePrompt", {"min": 1, "max": 5000}),
    ("positivePrompt long", text_to_video(positivePrompt="x" * 5001), "invalidPositivePromptLength", "positivePrompt", {"max": 5000}),
    ("negativePrompt long", text_to_video(negativePrompt="x" * 501), "invalidNegativePromptLength", "negativePrompt", {"max": 500}),
    ("width type", text_to_video(width="1280"), "invalidWidth", "width", {"type": "integer"}),
    ("height zero", text_to_video(height=0), "invalidHeight", "height", {"min": 1}),
    ("unsupported size", text_to_video(width=1024, height=1024), "unsupportedModelResolution", ["width", "height"], {"allowedValues": ALLOWED_SIZES}),
    ("swapped size", text_to_video(width=720, height=1920), "unsupportedModelResolution", ["width", "height"], {}),
    ("resolution", text_to_video(resolution="4k"), "unsupportedResolution", "resolution", {"allowedValues": ["720p", "1080p"]}),
    ("duration low", text_to_video(duration=1), "unsupportedDuration", "duration", {"min": 2, "max": 15}),
    ("duration high", text_to_video(duration=16), "unsupportedDuration", "duration", {"min": 2, "max": 15}),
    ("duration type", text_to_video(duration="5"), "invalidDuration", "duration", {"type": "integer"}),
    ("seed negative", text_to_video(seed=-1), "invalidSeed", "seed", {"min": 0, "max": 2147483647}),
    ("seed too big", text_to_video(seed=2147483648), "invalidSeed", "seed", {"max": 2147483647}),
    ("settings type", text_to_video(settings="x"), "invalidSettings", "settings", {"type": "object"}),
    ("settings.audio", text_to_video(settings={"audio": 1}), "invalidAudio", "settings.audio", {"type": "boolean"}),
    ("settings.promptEnhancer", text_to_video(settings={"promptEnhancer": None}), "invalidPromptEnhancer", "settings.promptEnhancer", {"type": "boolean"}),
    ("settings.shotType", text_to_video(settings={"shotType": "dual"}, inputs={"referenceImages": [IMAGE_UUID]}), "unsupportedShotType", "settings.shotType", {"allowedValues": ["single", "multi"]}),
    ("settings unknown", text_to_video(settings={"promptExtend": False}), "unsupportedParameter", "settings.promptExtend", {}),
    # model profile rules
    ("no size and no frames", without(text_to_video(), "width", "height"), "missingDimensions", ["width", "height", "inputs.frameImages"], {}),
    ("width without height", without(text_to_video(), "height"), "missingDimensions", "height", {}),
    ("frames with referenceImages", text_to_video(inputs={"frameImages": [IMAGE_UUID], "referenceImages": [IMAGE_UUID]}), "incompatibleParameters", ["inputs.frameImages", "inputs.referenceImages"], {}),
    ("frames with referenceVideos", text_to_video(inputs={"frameImages": [IMAGE_UUID], "referenceVideos": [IMAGE_UUID]}), "incompatibleParameters", ["inputs.frameImages", "inputs.referenceVideos"], {}),
    ("no prompt without frames", without(text_to_video(), "positivePrompt"), "missingPositivePrompt", "positivePrompt", {}),
    ("duration 11 with referenceImages", text_to_video(duration=11, inputs={"referenceImages": [IMAGE_UUID]}), "unsupportedDuration", "duration", {"max": 10}),
    ("duration 11 with referenceVideos", text_to_video(duration=11, inputs={"referenceVideos": [IMAGE_UUID]}), "unsupportedDuration", "duration", {"max": 10}),
    ("shotType without references", text_to_video(settings={"shotType": "single"}), "missingReferenceInputs", ["inputs.referenceImages", "inputs.referenceVideos"], {}),
]


@pytest.mark.parametrize("label, task, code, parameter, extra", INVALID, ids=[row[0] for row in INVALID])
def test_each_broken_rule_gives_its_code(label, task, code, parameter, extra):
    errors = validate_task(task)
    assert len(errors) == 1, [e.to_wire() for e in errors]
    wire = errors[0].to_wire()
    assert wire["code"] == code
    assert wire["parameter"] == parameter
    for key, value in extra.items():
        assert wire[key] == value
    assert "taskType" not in wire and errors[0].task_type == "videoInference"  # kept for webhooks, not sent
    if isinstance(task.get("taskUUID"), str):
        assert wire["taskUUID"] == task["taskUUID"]
    assert wire["documentation"].startswith("https://runware.ai/docs/models/alibaba-wan2-7")
    name = parameter if isinstance(parameter, str) else parameter[0]
    assert name.split(".")[-1].split("[")[0] in wire["message"] or code in ("missingDimensions", "incompatibleParameters", "missingReferenceInputs", "unsupportedModelResolution")


def test_messages_name_the_allowed_values_or_range():
    assert "MP4, WEBM, MOV" in first_error(text_to_video(outputFormat="GIF")).message
    assert "between 20 and 99" in first_error(text_to_video(outputQuality=5)).message
    assert "between 2 and 15" in first_error(text_to_video(duration=99)).message
    size_message = first_error(text_to_video(width=1000, height=720)).message
    assert "Got 1000x720." in size_message and ", ".join(ALLOWED_SIZES) in size_message


def test_several_violations_are_all_reported_identity_first():
    task = text_to_video(taskUUID="nope", seed=-5, outputFormat="AVI", fps=30)
    codes = [e.code for e in validate_task(task)]
    assert codes[0] == "invalidTaskUUID"
    assert sorted(codes[1:]) == ["invalidSeed", "unsupportedOutputFormat", "unsupportedParameter"]


def test_profile_rules_are_not_reported_over_a_broken_field():
    # width has the wrong type: the size rule must not pile on
    assert [e.code for e in validate_task(text_to_video(width="wide"))] == ["invalidWidth"]


@pytest.mark.parametrize("task, code", [
    ("not an object", "invalidTask"),
    ({"taskUUID": TASK_UUID}, "missingTaskType"),
    ({"taskType": "imageInference", "taskUUID": TASK_UUID}, "unsupportedTaskType"),
    ({"taskType": 7}, "unsupportedTaskType"),
])
def test_envelope_level_task_errors(task, code):
    assert [e.code for e in validate_task(task)] == [code]


@pytest.mark.parametrize("task, code, parameter", [
    ({"taskType": "authentication"}, "missingApiKey", "apiKey"),
    ({"taskType": "authentication", "apiKey": ""}, "invalidApiKey", "apiKey"),
    ({"taskType": "authentication", "apiKey": "k", "connectionSessionUUID": "x"}, "invalidConnectionSessionUUID", "connectionSessionUUID"),
    ({"taskType": "getResponse"}, "missingTaskUUID", "taskUUID"),
    ({"taskType": "getResponse", "taskUUID": TASK_UUID, "numberResults": 2}, "unsupportedParameter", "numberResults"),
    ({"taskType": "imageUpload", "taskUUID": TASK_UUID}, "missingImage", "image"),
    ({"taskType": "imageUpload", "taskUUID": TASK_UUID, "image": "%%%"}, "invalidImage", "image"),
    ({"taskType": "ping", "ping": "yes"}, "invalidPing", "ping"),
])
def test_other_task_types(task, code, parameter):
    errors = validate_task(task)
    assert [(e.code, e.parameter) for e in errors] == [(code, parameter)]


@pytest.mark.parametrize("task", [
    {"taskType": "authentication", "apiKey": "k"},
    {"taskType": "ping", "ping": True},
    {"taskType": "ping", "taskUUID": TASK_UUID},
    {"taskType": "getResponse", "taskUUID": TASK_UUID},
    {"taskType": "imageUpload", "taskUUID": TASK_UUID, "image": PNG_DATA_URI},
])
def test_other_task_types_valid(task):
    assert validate_task(task) == []


def test_defaults_are_filled_from_the_schema():
    filled = with_defaults(text_to_video())
    assert filled["outputType"] == "URL"
    assert filled["outputFormat"] == "MP4"
    assert filled["outputQuality"] == 95
    assert filled["deliveryMethod"] == "async"
    assert filled["includeCost"] is False
    assert filled["numberResults"] == 1
    assert filled["resolution"] == "1080p"
    assert filled["duration"] == 5
    assert filled["settings"] == {"audio": True, "promptEnhancer": True}
    assert filled["safety"] == {"checkContent": False, "mode": "none"}
    assert "seed" not in filled and "ttl" not in filled and "shotType" not in filled["settings"]


def test_check_content_alone_means_fast_mode():
    assert with_defaults(text_to_video(safety={"checkContent": True}))["safety"]["mode"] == "fast"
    assert with_defaults(text_to_video(safety={"checkContent": True, "mode": "full"}))["safety"]["mode"] == "full"


def test_with_defaults_leaves_the_request_untouched():
    task = text_to_video(settings={"audio": False})
    before = copy.deepcopy(task)
    with_defaults(task)
    assert task == before


@pytest.mark.parametrize("inputs, parameter, takes", [
    ({"referenceVideos": ["data:video/mp4;base64,AAAA"]}, "inputs.referenceVideos[0]", "a video: a UUID or an absolute http(s) URL"),
    ({"audio": "data:audio/mpeg;base64,AAAA"}, "inputs.audio", "audio: a UUID or an absolute http(s) URL"),
    ({"referenceImages": ["%%%"]}, "inputs.referenceImages[0]",
     "an image: a UUID, an absolute http(s) URL, a base64 data URI or base64 data"),
])
def test_a_malformed_media_reference_is_told_what_its_parameter_takes(inputs, parameter, takes):
    """referenceVideos and inputs.audio take no inline data, and are not images."""
    error = first_error(text_to_video(inputs=inputs))
    assert error.parameter == parameter
    assert error.message == f"Invalid value for {parameter} parameter. It must be {takes}."


@pytest.mark.parametrize("task_uuid", [
    "0d84f171-2e54-1c07-836e-05788795736d",  # v1
    "0d84f171-2e54-3c07-936e-05788795736d",  # v3
    "0d84f171-2e54-5c07-a36e-05788795736d",  # v5
    "1ef0d84f-1712-6e54-836e-05788795736d",  # v6
    "019c42a0-c3ff-7138-be83-ee257abc5331",  # v7, the one the live service echoed (deankerr-ig capture)
    "0d84f171-2e54-8c07-b36e-05788795736d",  # v8
])
def test_a_task_uuid_of_any_rfc_9562_version_is_accepted(task_uuid):
    """The documents ask for v4, the live service served a v7: the server accepts every version
    (the client rule VM012 still reports one that is not v4)."""
    assert validate_task(text_to_video(taskUUID=task_uuid)) == []


@pytest.mark.parametrize("change, code, message, bounds", [
    ({"width": 0}, "invalidWidth",
     "Invalid value for 'width' parameter. Video width must be an integer value of at least 1, in multiples of '1'.",
     {"min": 1, "multiplier": 1}),
    ({"duration": 16}, "unsupportedDuration",
     "Invalid value for 'duration' parameter. Duration must be an integer value between 2 and 15, in multiples of '1'.",
     {"min": 2, "max": 15, "multiplier": 1}),
    ({"numberResults": 5}, "invalidNumberResults",
     "Invalid value for 'numberResults' parameter. Number of results must be an integer value between 1 and 4, "
     "in multiples of '1'.", {"min": 1, "max": 4, "multiplier": 1}),
    ({"outputQuality": 100}, "invalidOutputQuality",
     "Invalid value for 'outputQuality' parameter. Output quality must be an integer value between 20 and 99, "
     "in multiples of '1'.", {"min": 20, "max": 99, "multiplier": 1}),
])
def test_a_number_out_of_bounds_is_worded_and_keyed_as_the_live_invalid_width(change, code, message, bounds):
    """The captured refusal: "Invalid value for 'width' parameter. Image width must be an integer
    value between 256 and 16383, in multiples of '1'." with type, min, max, multiplier, in that order."""
    wire = first_error(text_to_video(**change)).to_wire()
    name = next(iter(change))
    assert (wire["code"], wire["message"], wire["parameter"], wire["type"]) == (code, message, name, "integer")
    assert {key: wire[key] for key in ("min", "max", "multiplier") if key in wire} == bounds
    assert list(wire) == ["code", "message", "parameter", "type", *bounds, "documentation", "taskUUID"]
