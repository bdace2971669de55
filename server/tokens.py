"""Signed access tokens: HMAC-SHA256 over (board, role, participant) with SECRET_KEY.

A token names its board, so it is useless on any other board. Facilitator and viewer tokens are
deterministic per board and per facilitator-link version (the API can hand them out again);
participant tokens name the participant.

A valid signature is not enough (`standing`): a token of a deleted board, of an erased or revoked
participant, or a facilitator token of an older link version (after a rotation) is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

if TYPE_CHECKING:
    from server.store.base import BoardRecord, ParticipantRecord

TokenRole = Literal["facilitator", "participant", "viewer"]
ROLES: tuple[TokenRole, ...] = ("facilitator", "participant", "viewer")


class InvalidToken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class TokenClaims:
    board_id: str
    role: TokenRole
    participant_id: str | None = None
    version: int = 0  # facilitator link version (board setting "token_version")

    @property
    def actor_id(self) -> str:
        return self.participant_id or self.role


class TokenSigner:
    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(b"cobord-token:" + secret_key.encode()).digest()
        # Media access (below) is signed with its own key: nothing signed for pictures can ever
        # verify as a board token, whatever its payload.
        self._media_key = hashlib.sha256(b"cobord-media:" + secret_key.encode()).digest()

    # -- media access: what an <img src> may carry without carrying anyone's rights -------------

    def issue_media_access(self, board_id: str, expires_at: int) -> str:
        """A short-lived access to the pictures and recordings of one board, nothing else (kept in
        a cookie scoped to the board's media path)."""
        body = _b64(json.dumps({"b": board_id, "x": expires_at}, separators=(",", ":")).encode())
        return f"{body}.{_b64(self._media_sign(body))}"

    def media_access_ok(self, value: str, board_id: str, now: float) -> bool:
        body, _, signature = value.partition(".")
        try:
            if not hmac.compare_digest(_unb64(signature), self._media_sign(body)):
                return False
            payload = json.loads(_unb64(body))
            expires = payload["x"]
            return (
                payload["b"] == board_id
                and isinstance(expires, int)
                and not isinstance(expires, bool)
                and now < expires
            )
        except (ValueError, KeyError, TypeError):
            return False

    def media_link(self, board_id: str, media_id: str) -> str:
        """The `access` of one picture's permanent link (reports): it opens that picture only."""
        return _b64(self._media_sign(f"link:{board_id}:{media_id}"))[:32]

    def media_link_ok(self, value: str, board_id: str, media_id: str) -> bool:
        return hmac.compare_digest(value.encode(), self.media_link(board_id, media_id).encode())

    def _media_sign(self, body: str) -> bytes:
        return hmac.new(self._media_key, body.encode(), hashlib.sha256).digest()

    def issue(self, claims: TokenClaims) -> str:
        payload: dict[str, object] = {"b": claims.board_id, "r": claims.role}
        if claims.participant_id is not None:
            payload["p"] = claims.participant_id
        if claims.version:
            payload["v"] = claims.version
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_b64(self._sign(body))}"

    def verify(self, token: str) -> TokenClaims:
        body, _, signature = token.partition(".")
        try:
            expected = self._sign(body)
            if not hmac.compare_digest(_unb64(signature), expected):
                raise InvalidToken("bad signature")
            payload = json.loads(_unb64(body))
            role = payload["r"]
            if role not in ROLES or not isinstance(payload["b"], str):
                raise InvalidToken("bad claims")
            participant = payload.get("p")
            if (role == "participant") != isinstance(participant, str):
                raise InvalidToken("bad claims")
            version = payload.get("v", 0)
            if not isinstance(version, int) or isinstance(version, bool):
                raise InvalidToken("bad claims")
            return TokenClaims(payload["b"], cast(TokenRole, role), participant, version)
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidToken("malformed token") from exc

    def _sign(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode(), hashlib.sha256).digest()


def token_version(board: BoardRecord) -> int:
    version = board.settings.get("token_version", 0)
    return version if isinstance(version, int) else 0


def standing(
    board: BoardRecord, claims: TokenClaims, person: ParticipantRecord | None
) -> str | None:
    """Why a correctly signed token of this board no longer opens it, or None if it does.
    `person` is the participant the token names (None for other roles, or when it no longer
    exists), read by the caller (server/http/auth.py), which may need it too."""
    if claims.role == "facilitator" and claims.version != token_version(board):
        return "this facilitator link was replaced by a newer one"
    if claims.role == "participant" and (
        person is None or person.board_id != board.id or person.revoked
    ):
        return "this participant's access was revoked"
    return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
