"""The render cache's key covers vidmock's own synthesis code: a kept cache cannot serve the files
of an older recipe, and editing only comments or docstrings keeps it."""

from __future__ import annotations

import imageio_ffmpeg

from mockserver.media import synth_build
from mockserver.media.synth_build import SYNTHESIS_CODE, code_digest, probe_build, synthesis_code_digest

SOURCE = SYNTHESIS_CODE[0].read_text(encoding="utf-8")
WRITER = synth_build.metadata.version(synth_build.ARGUMENT_WRITER)


def changed(old: str, new: str) -> str:
    assert SOURCE.count(old) == 1, old
    return SOURCE.replace(old, new)


def test_the_digest_is_that_of_the_synthesis_code_and_the_argument_writer():
    assert synthesis_code_digest() == code_digest([SOURCE], WRITER)
    assert code_digest([SOURCE], "0.0.0") != code_digest([SOURCE], WRITER)


def test_any_change_to_what_the_code_does_changes_the_digest():
    for old, new in [("POSTER_QUALITY = 4", "POSTER_QUALITY = 5"),  # a constant
                     ("round(40 - ", "round(41 - "),  # a formula
                     ('"-nostdin", "-hide_banner"', '"-hide_banner", "-nostdin"')]:  # argument order
        assert code_digest([changed(old, new)], WRITER) != synthesis_code_digest(), old


def test_comments_docstrings_and_layout_keep_the_digest():
    commented = changed("POSTER_QUALITY = 4", "POSTER_QUALITY = 4  # a new comment\n\n")
    redocumented = changed('"""outputQuality 20..99 -> x264 CRF', '"""Reworded: outputQuality 20..99 -> x264 CRF')
    assert code_digest([commented], WRITER) == code_digest([redocumented], WRITER) == synthesis_code_digest()


async def test_a_changed_synthesis_code_gets_its_own_cache_folder(monkeypatch, tmp_path):
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    monkeypatch.setattr(synth_build, "_KNOWN", {})
    current = await probe_build(exe)
    edited = code_digest([changed("POSTER_QUALITY = 4", "POSTER_QUALITY = 5")], WRITER)
    monkeypatch.setattr(synth_build, "synthesis_code_digest", lambda: edited)
    after_the_edit = await probe_build(exe)
    assert after_the_edit.facts["synthesisCode"] == edited != current.facts["synthesisCode"]
    assert after_the_edit.facts["ffmpeg"] == current.facts["ffmpeg"]  # the same toolchain, and yet:
    assert after_the_edit.name != current.name
    assert after_the_edit.folder(tmp_path) != current.folder(tmp_path)
