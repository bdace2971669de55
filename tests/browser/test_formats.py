"""Photo and voice notes, translations and read-aloud in real Chromium (fake camera and mic)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from server import media
from tests.browser.conftest import CHROMIUM, SUITE_ARGS, shot, with_test_hooks
from tests.browser.helpers import join, new_board, open_board
from tests.test_media import GPS_IFD, jpeg_with_gps

pytestmark = pytest.mark.browser

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
# Records what speechSynthesis is asked to say (the real synthesizer still runs).
SPEECH_SPY = """
window.__spoken = [];
if (window.speechSynthesis) {
  const speak = speechSynthesis.speak.bind(speechSynthesis);
  speechSynthesis.speak = (u) => {
    window.__spoken.push({ text: u.text, lang: u.lang }); speak(u);
  };
}
"""


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    b = with_test_hooks(
        playwright.chromium.launch(executable_path=CHROMIUM, args=[*SUITE_ARGS, *MEDIA_ARGS])
    )
    yield b
    b.close()


def compose(page: Any) -> None:
    page.locator(".fab").tap()
    expect(page.locator(".media-picker")).to_be_visible()


def test_non_image_refused_then_photo_from_phone_on_desktop_without_exif(
    cobord_server: Any, phone: Any, desktop: Any, tmp_path: Path
) -> None:
    board = new_board(cobord_server)
    me = join(cobord_server, board["join_code"], "Awa")
    phone.grant_permissions(["camera", "microphone"])
    mobile = open_board(phone, cobord_server.base, board["id"], me["token"])
    laptop = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    # A file that is not a picture is refused with a message in the composer, in the phone's
    # language (French here), from the server's error code.
    bogus = tmp_path / "notes.png"
    bogus.write_bytes(b"%PDF-1.7 pretending to be a picture")
    compose(mobile)
    mobile.set_input_files("#media-file", str(bogus))
    expect(mobile.locator(".media-status")).to_have_text(
        "Seules les images JPEG, PNG ou WebP sont acceptées."
    )
    # A real photo (with GPS in its EXIF) is taken.
    photo = tmp_path / "plan.jpg"
    photo.write_bytes(jpeg_with_gps((3000, 2000)))
    mobile.set_input_files("#media-file", str(photo))
    expect(mobile.locator(".media-preview img.note-photo")).to_be_visible()
    mobile.fill("#composer-text", "Le plan du parc")
    mobile.locator(".composer button[type=submit]").tap()
    img = laptop.locator("img.note-photo[alt='Le plan du parc']").first
    expect(img).to_be_visible()
    laptop.wait_for_function(
        "() => [...document.querySelectorAll('img.note-photo')].some(i => i.naturalWidth > 0)"
    )
    src = img.get_attribute("src")
    assert src and "token" not in src  # no token in a picture's address (the page has a cookie)
    assert httpx.get(cobord_server.base + src).status_code == 401  # the address alone opens nothing
    fac_header = {"Authorization": f"Bearer {board['facilitator_token']}"}
    served = httpx.get(cobord_server.base + src, headers=fac_header)
    picture = Image.open(io.BytesIO(served.content))
    assert picture.getexif().get_ifd(GPS_IFD) == {} and b"Exif" not in served.content
    assert max(picture.size) <= 1600 and len(served.content) <= 400 * 1024
    # Not without the token.
    assert httpx.get(cobord_server.base + src.split("?")[0]).status_code == 401
    shot(laptop, "formats-photo-desktop")
    projector = desktop.new_page()
    projector.goto(
        f"{cobord_server.base}/b/{board['id']}/present#v={board['viewer_token']}&c={board['join_code']}"
    )
    # The caption is printed beside the picture: the picture is named "Foto" (the caption is not
    # read twice in a row).
    projected = projector.locator(".pnote", has_text="Le plan du parc")
    expect(projected.locator("img.note-photo[alt='Foto']")).to_be_visible()
    assert phone.errors == [] and desktop.errors == []  # type: ignore[attr-defined]


def test_voice_note_recorded_on_phone_plays_on_desktop(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    board = new_board(cobord_server)
    me = join(cobord_server, board["join_code"], "Awa")
    phone.grant_permissions(["microphone"])
    mobile = open_board(phone, cobord_server.base, board["id"], me["token"])
    laptop = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    compose(mobile)
    mobile.locator(".record-btn").tap()
    expect(mobile.locator(".record-btn")).to_have_attribute("aria-pressed", "true")
    # A recording needs some length: wait until the recorder has delivered its first second.
    expect(mobile.locator(".record-btn")).to_have_attribute("data-seconds", re.compile(r"^[1-9]"))
    expect(mobile.locator(".media-status")).to_contain_text("s sur 60")
    shot(mobile, "formats-voice-recording")
    mobile.locator(".record-btn").tap()
    expect(mobile.locator(".media-preview audio.note-voice")).to_be_attached()
    mobile.locator(".composer button[type=submit]").tap()
    audio = laptop.locator("audio.note-voice").first
    expect(audio).to_be_attached()
    src = audio.get_attribute("src")
    assert src and "token" not in src
    fac_header = {"Authorization": f"Bearer {board['facilitator_token']}"}
    served = httpx.get(cobord_server.base + src, headers=fac_header)
    assert served.status_code == 200
    assert served.headers["content-type"] in ("audio/webm", "audio/ogg", "audio/mp4")
    # The server reads a real recording's length from its container (what the 60 s check uses).
    seconds = media.voice_seconds(served.content, served.headers["content-type"])
    assert seconds is not None and 0.9 <= seconds <= 30, seconds
    assert len(served.content) > 1000
    # The note keeps that length (players show 0:00 for a MediaRecorder file): shown and named.
    length = laptop.locator(".voice-length").first
    expect(length).to_have_text(re.compile(r"^0:(0[1-9]|[1-5]\d)$"))
    expect(audio).to_have_attribute(
        "aria-label", re.compile(r"^voice note by Awa, \d+ s$|^spraaknotitie van Awa, \d+ s$")
    )


def test_translations_shown_to_their_reader_read_aloud_and_typed_on_a_phone(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    board = new_board(cobord_server)
    awa = join(cobord_server, board["join_code"], "Awa", lang="fr")
    jan = join(cobord_server, board["join_code"], "Jan", lang="nl")
    desktop.add_init_script(SPEECH_SPY)
    mobile = open_board(phone, cobord_server.base, board["id"], awa["token"])
    compose(mobile)
    mobile.fill("#composer-text", "Plus de bancs au parc")
    mobile.locator(".composer button[type=submit]").tap()
    expect(mobile.locator(".note", has_text="Plus de bancs au parc")).to_be_visible()
    note_id = mobile.evaluate("() => window.__cobord.session.noteList()[0].id")
    laptop = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    laptop.evaluate("() => localStorage.setItem('cobord:lang', JSON.stringify('nl'))")
    laptop.reload()
    laptop.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
    cobord_server.api(
        "PUT",
        f"/api/boards/{board['id']}/notes/{note_id}/translations/nl",
        {"text": "Meer banken in het park"},
        token=jan["token"],
    )
    note = laptop.locator(".note", has_text="Meer banken in het park")
    expect(note).to_be_visible()
    expect(note.locator(".tr-tag")).to_have_text("Vertaald uit het Frans")
    note.locator(".tr-toggle").click()
    expect(laptop.locator(".note", has_text="Plus de bancs au parc")).to_be_visible()
    listen = laptop.locator(".note", has_text="Plus de bancs au parc").locator(".listen-btn")
    # The speaker is drawn, not an emoji (an empty box on a computer without an emoji font).
    icon = listen.locator("svg.icon").bounding_box()
    assert icon is not None and icon["width"] >= 16, icon
    assert listen.inner_text().strip() == ""
    listen.click()
    spoken = laptop.evaluate("() => window.__spoken")
    assert spoken == [{"text": "Plus de bancs au parc", "lang": "fr-BE"}]

    # A translation typed on one phone, shown to the Dutch reader.
    compose(mobile)
    mobile.fill("#composer-text", "Un potager partagé")
    mobile.locator(".composer button[type=submit]").tap()
    # A second phone reading Dutch adds the translation from the note's sheet.
    phone2 = open_board(phone, cobord_server.base, board["id"], jan["token"])
    phone2.evaluate("() => localStorage.setItem('cobord:lang', JSON.stringify('nl'))")
    phone2.reload()
    phone2.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
    phone2.locator(".note-open", has_text="Un potager partagé").tap()
    # The box opens when asked for (no keyboard pops up on opening the note).
    phone2.locator(".tr-open").tap()
    phone2.fill(".translate-text", "Een gedeelde moestuin")
    phone2.locator(".translate-form button[type=submit]").tap()
    note = laptop.locator(".note", has_text="Een gedeelde moestuin")
    expect(note).to_be_visible()
    expect(note.locator(".tr-tag")).to_have_text("Vertaald uit het Frans")
    # The author, reading French, still sees the original.
    expect(mobile.locator(".note-open", has_text="Un potager partagé")).to_be_visible()
