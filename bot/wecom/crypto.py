"""WeCom's callback crypto (the scheme of Tencent's WXBizMsgCrypt samples).

Every callback WeCom makes to the app's URL is signed and encrypted:

- ``msg_signature`` = SHA-1 (hex) of the app's Token, the ``timestamp``, the ``nonce`` and
  the ciphertext, sorted as strings and concatenated;
- the ciphertext is base64 of AES-256-CBC with key = base64-decode(EncodingAESKey + "="),
  IV = the key's first 16 bytes, PKCS#7 padding to a multiple of 32 bytes (not 16);
- the plaintext is 16 random bytes, the message length (4 bytes, big-endian), the
  message, then the receive id: the corp id for a self-built app (自建应用).

The URL check (GET, when an admin saves the callback settings) signs and encrypts
``echostr``; the bot answers with the decrypted echo. A message or event (POST) comes in
an XML envelope ``<xml><ToUserName/><Encrypt/><AgentID/></xml>``; a passive reply goes
back in ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``.

Every failure is a :class:`CryptoError` whose ``reason`` says which check refused it
("signature", "format", "padding", "receive_id", "key", "stale"), for one clear log line. The
signature is compared in constant time; nothing here logs the token or the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.wecom.inbound import InboundError, field, safe_xml

BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16
# An envelope carries one message; WeCom's own are a few KiB.
MAX_ENVELOPE_BYTES = 256 * 1024


class CryptoError(Exception):
    """A callback that failed a check; ``reason`` names the check."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _cdata(value: str) -> str:
    # "]]>" cannot appear inside a CDATA section; base64 and digits never contain it.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class WeComCrypto:
    """Signs, verifies, encrypts and decrypts one app's callbacks."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if not token:
            raise CryptoError("key", "empty token")
        if len(encoding_aes_key) != 43:
            raise CryptoError("key", "the EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("key", "the EncodingAESKey is not base64") from None
        if len(key) != 32:
            raise CryptoError("key", "the EncodingAESKey does not decode to 32 bytes")
        self._token = token
        self._key = key
        self.receive_id = receive_id

    def __repr__(self) -> str:  # never the token or the key
        return f"WeComCrypto(receive_id={self.receive_id!r})"

    # -- signatures ---------------------------------------------------------------------

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """WeCom's msg_signature of ``encrypted`` at ``timestamp``/``nonce``."""
        parts = sorted([self._token, timestamp, nonce, encrypted])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def _check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = self.signature(timestamp, nonce, encrypted)
        given = (msg_signature or "").strip().lower()
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
            raise CryptoError("signature", "msg_signature does not match")

    @staticmethod
    def check_fresh(timestamp: str, now: float, window: float = 3600.0) -> None:
        """Refuse a callback signed more than ``window`` seconds from ``now``.

        WeCom retries within seconds, so an hour is generous; an older (or future) one is
        a replay that de-duplication alone would accept once its key was forgotten.
        """
        if not timestamp.isascii() or not timestamp.strip().isdigit():
            raise CryptoError("format", "the timestamp is not a number")
        if abs(now - int(timestamp)) > window:
            raise CryptoError("stale", f"signed {int(now - int(timestamp))} s ago")

    # -- AES ----------------------------------------------------------------------------

    def encrypt(self, plain: bytes, random16: bytes | None = None) -> str:
        """The base64 ciphertext of ``plain`` for this receive id."""
        head = random16 if random16 is not None else os.urandom(16)
        if len(head) != 16:
            raise CryptoError("format", "the random prefix must be 16 bytes")
        body = head + struct.pack(">I", len(plain)) + plain + self.receive_id.encode("utf-8")
        pad = BLOCK - len(body) % BLOCK
        body += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str, *, check_receive_id: bool = True) -> bytes:
        """The message inside ``encrypted``; its receive id must be this app's."""
        try:
            raw = base64.b64decode(encrypted.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("format", "the ciphertext is not base64") from None
        if len(raw) < BLOCK or len(raw) % 16:
            raise CryptoError("format", f"a ciphertext of {len(raw)} bytes")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        body = decryptor.update(raw) + decryptor.finalize()
        pad = body[-1]
        if not 1 <= pad <= BLOCK or body[-pad:] != bytes([pad]) * pad:
            raise CryptoError("padding", "bad PKCS#7 padding")
        content = body[16:-pad]
        if len(content) < 4:
            raise CryptoError("format", "no length field")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise CryptoError("format", f"a length of {length} past the end")
        message = content[4 : 4 + length]
        receive_id = content[4 + length :]
        if check_receive_id and not hmac.compare_digest(
            receive_id, self.receive_id.encode("utf-8")
        ):
            raise CryptoError("receive_id", f"for {receive_id[:64].decode('utf-8', 'replace')!r}")
        return message

    # -- the callback's two requests and the passive reply ------------------------------

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> bytes:
        """The echo to answer WeCom's URL check with (GET, query already URL-decoded).

        A "+" the HTTP layer decoded as a space (form decoding) is put back: base64 has
        no spaces, and the signature covers the "+".
        """
        echostr = echostr.replace(" ", "+")
        self._check(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def decrypt_post(self, msg_signature: str, timestamp: str, nonce: str, body: bytes) -> bytes:
        """The plain XML inside a POSTed envelope, after every check."""
        encrypted = self.envelope_ciphertext(body)
        self._check(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    @staticmethod
    def envelope_ciphertext(body: bytes) -> str:
        """The ``<Encrypt>`` of a POSTed envelope."""
        try:
            root = safe_xml(body, MAX_ENVELOPE_BYTES)
        except InboundError as exc:
            raise CryptoError("format", f"envelope: {exc}") from None
        encrypted = field(root, "Encrypt")
        if not encrypted or not encrypted.strip():
            raise CryptoError("format", "envelope without <Encrypt>")
        return encrypted.strip()

    def encrypt_reply(self, plain: bytes, timestamp: str, nonce: str) -> bytes:
        """The envelope of a passive reply carrying ``plain``."""
        encrypted = self.encrypt(plain)
        sig = self.signature(timestamp, nonce, encrypted)
        return (
            "<xml>"
            f"<Encrypt>{_cdata(encrypted)}</Encrypt>"
            f"<MsgSignature>{_cdata(sig)}</MsgSignature>"
            f"<TimeStamp>{escape(timestamp)}</TimeStamp>"
            f"<Nonce>{_cdata(nonce)}</Nonce>"
            "</xml>"
        ).encode()

    def encrypt_post(
        self, plain: bytes, timestamp: str, nonce: str, agent_id: int | str | None
    ) -> tuple[str, bytes]:
        """What WeCom POSTs for ``plain``: (msg_signature, envelope). For fakes and tests."""
        encrypted = self.encrypt(plain)
        agent = "" if agent_id is None else f"<AgentID>{_cdata(str(agent_id))}</AgentID>"
        envelope = (
            "<xml>"
            f"<ToUserName>{_cdata(self.receive_id)}</ToUserName>"
            f"<Encrypt>{_cdata(encrypted)}</Encrypt>"
            f"{agent}"
            "</xml>"
        ).encode()
        return self.signature(timestamp, nonce, encrypted), envelope

    def decrypt_reply(self, body: bytes) -> bytes:
        """The plain XML of a passive reply envelope (its own signature checked)."""
        try:
            root = safe_xml(body, MAX_ENVELOPE_BYTES)
        except InboundError as exc:
            raise CryptoError("format", f"reply: {exc}") from None
        encrypted = (field(root, "Encrypt") or "").strip()
        sig = (field(root, "MsgSignature") or "").strip()
        timestamp = (field(root, "TimeStamp") or "").strip()
        nonce = (field(root, "Nonce") or "").strip()
        if not encrypted:
            raise CryptoError("format", "reply without <Encrypt>")
        self._check(sig, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)
