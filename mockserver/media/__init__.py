"""How a video is made and served: synthesis with ffmpeg (``synth``, and ``synth_build`` for the
toolchain a cached file depends on), the media store behind ``GET /media/`` (``store``), the listed
formats told apart by their bytes (``formats``), a task's output size (``sizing``), videos as
inexact as the live service's (``inexact``) and what a video file is (``video_probe``)."""
