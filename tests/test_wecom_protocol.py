"""WeCom's callback crypto and inbound parsing, against Tencent's published sample vectors.

The vectors come from the WXBizMsgCrypt samples Tencent ships with its callback libraries
(Token ``hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo``, corp ``ww1436e0e65a779aee``): the URL check
decrypts to ``1288432023552776189`` and the POST to a text message "你好"; the Java
sample's test fixes the random prefix, so its ciphertext checks encryption byte for byte.
"""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.wecom.crypto import CryptoError, WeComCrypto
from bot.wecom.inbound import MAX_XML_BYTES, Inbound, InboundError, parse

TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"

VERIFY_SIG = "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
VERIFY_TS = "1476416373"
VERIFY_NONCE = "47744683"
VERIFY_ECHO = (
    "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
)

POST_SIG = "0c3914025cb4b4d68103f6bfc8db550f79dcf48e"
POST_TS = "1476422779"
POST_NONCE = "1597212914"
POST_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGz"
    "BhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3J"
    "WcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQH"
    "E7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYu"
    "PDGOCI8jmnKiypE+"
)
POST_BODY = (
    f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>\n"
    f"<Encrypt><![CDATA[{POST_ENCRYPT}]]></Encrypt>\n"
    "<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
).encode()


@pytest.fixture
def crypto() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, CORP)


def _raw_cipher(key_b64: str, body: bytes) -> str:
    """Encrypt ``body`` (already padded) as WeCom would, to forge broken plaintexts."""
    key = base64.b64decode(key_b64 + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(body) + enc.finalize()).decode()


# -- the official vectors -------------------------------------------------------------------


def test_url_check_decrypts_the_official_echo(crypto: WeComCrypto) -> None:
    assert crypto.verify_url(VERIFY_SIG, VERIFY_TS, VERIFY_NONCE, VERIFY_ECHO) == (
        b"1288432023552776189"
    )


def test_url_check_survives_a_plus_decoded_as_space(crypto: WeComCrypto) -> None:
    mangled = VERIFY_ECHO.replace("+", " ")
    assert mangled != VERIFY_ECHO
    assert crypto.verify_url(VERIFY_SIG, VERIFY_TS, VERIFY_NONCE, mangled) == (
        b"1288432023552776189"
    )


def test_post_decrypts_the_official_message(crypto: WeComCrypto) -> None:
    plain = crypto.decrypt_post(POST_SIG, POST_TS, POST_NONCE, POST_BODY)
    message = parse(plain)
    assert message.kind == "text"
    assert message.text == "你好"
    assert message.user_id == "ChenJiaShun"
    assert message.corp_id == CORP
    assert message.agent_id == 1000002
    assert message.msg_id == "1456453720"
    assert message.dedupe_key == "msg:1456453720"
    assert message.create_time == 1476422779


def test_encryption_matches_tencents_fixed_vector() -> None:
    # The Java sample's test: a fixed random prefix makes the ciphertext reproducible.
    crypto = WeComCrypto(
        "pamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxb11529c136998cb6"
    )
    encrypted = crypto.encrypt("我是中文abcd123".encode(), random16=b"aaaabbbbccccdddd")
    assert encrypted == (
        "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
    )
    assert crypto.decrypt(encrypted) == "我是中文abcd123".encode()


def test_signature_is_sha1_of_the_sorted_parts(crypto: WeComCrypto) -> None:
    assert crypto.signature(POST_TS, POST_NONCE, POST_ENCRYPT) == POST_SIG
    # Upper-case hex from a client is still the same signature.
    assert crypto.decrypt_post(POST_SIG.upper(), POST_TS, POST_NONCE, POST_BODY)


# -- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13, 31, 32, 33, 2048])
def test_round_trip_every_padding_length(crypto: WeComCrypto, size: int) -> None:
    plain = ("问" * size).encode()[:size]
    encrypted = crypto.encrypt(plain)
    assert len(base64.b64decode(encrypted)) % 32 == 0
    assert crypto.decrypt(encrypted) == plain


def test_reply_envelope_round_trip(crypto: WeComCrypto) -> None:
    plain = "<xml><Content><![CDATA[收到]]></Content></xml>".encode()
    envelope = crypto.encrypt_reply(plain, "1700000000", "abc")
    assert b"<MsgSignature>" in envelope and b"<TimeStamp>1700000000</TimeStamp>" in envelope
    assert crypto.decrypt_reply(envelope) == plain


def test_post_envelope_round_trip(crypto: WeComCrypto) -> None:
    sig, body = crypto.encrypt_post(b"<xml/>", "1700000000", "n1", 1000002)
    assert crypto.decrypt_post(sig, "1700000000", "n1", body) == b"<xml/>"


def test_repr_hides_the_secrets(crypto: WeComCrypto) -> None:
    assert TOKEN not in repr(crypto) and AES_KEY not in repr(crypto)


# -- refusals -------------------------------------------------------------------------------


def _reason(exc: pytest.ExceptionInfo[CryptoError]) -> str:
    return exc.value.reason


def test_wrong_signature_is_refused(crypto: WeComCrypto) -> None:
    bad = ("1" if POST_SIG[0] != "1" else "2") + POST_SIG[1:]
    with pytest.raises(CryptoError) as exc:
        crypto.decrypt_post(bad, POST_TS, POST_NONCE, POST_BODY)
    assert _reason(exc) == "signature"
    for sig, ts, nonce in [("", POST_TS, POST_NONCE), (POST_SIG, "1476422780", POST_NONCE)]:
        with pytest.raises(CryptoError):
            crypto.decrypt_post(sig, ts, nonce, POST_BODY)
    with pytest.raises(CryptoError) as exc:
        crypto.verify_url(POST_SIG, VERIFY_TS, VERIFY_NONCE, VERIFY_ECHO)
    assert _reason(exc) == "signature"


def test_another_token_is_a_wrong_signature() -> None:
    other = WeComCrypto("another-token", AES_KEY, CORP)
    with pytest.raises(CryptoError) as exc:
        other.decrypt_post(POST_SIG, POST_TS, POST_NONCE, POST_BODY)
    assert _reason(exc) == "signature"


def test_another_corp_is_refused(crypto: WeComCrypto) -> None:
    foreign = WeComCrypto(TOKEN, AES_KEY, "wwforeigncorp00000")
    sig, body = foreign.encrypt_post(b"<xml/>", "1700000000", "n", 1000002)
    with pytest.raises(CryptoError) as exc:
        crypto.decrypt_post(sig, "1700000000", "n", body)
    assert _reason(exc) == "receive_id"
    # A prefix of the corp id is not the corp id.
    short = WeComCrypto(TOKEN, AES_KEY, CORP[:-1])
    sig, body = short.encrypt_post(b"<xml/>", "1700000000", "n", 1)
    with pytest.raises(CryptoError):
        crypto.decrypt_post(sig, "1700000000", "n", body)


def test_another_aes_key_fails_on_padding_or_format(crypto: WeComCrypto) -> None:
    other = WeComCrypto(TOKEN, "a" * 43, CORP)
    sig, body = other.encrypt_post(b"<xml><x/></xml>", "1", "n", 1)
    with pytest.raises(CryptoError) as exc:
        crypto.decrypt_post(sig, "1", "n", body)
    assert _reason(exc) in {"padding", "format", "receive_id"}


@pytest.mark.parametrize(
    "encrypted",
    [
        "",
        "not base64 at all!",
        base64.b64encode(b"short").decode(),
        base64.b64encode(b"x" * 33).decode(),  # not whole AES blocks
        POST_ENCRYPT[:-24] + "==",  # truncated, re-padded base64
        POST_ENCRYPT[:64],  # truncated at a block boundary
    ],
)
def test_broken_ciphertexts_are_refused(crypto: WeComCrypto, encrypted: str) -> None:
    sig = crypto.signature(POST_TS, POST_NONCE, encrypted)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    with pytest.raises(CryptoError):
        crypto.decrypt_post(sig, POST_TS, POST_NONCE, body)


@pytest.mark.parametrize(
    "plain",
    [
        b"\x00" * 32 + b"\x00" * 31 + b"\x00",  # pad byte 0
        b"\x00" * 63 + b"\x21",  # pad 33 > 32
        b"\x00" * 60 + b"\x01\x02\x03\x04",  # inconsistent pad bytes
    ],
)
def test_bad_padding_is_refused(crypto: WeComCrypto, plain: bytes) -> None:
    with pytest.raises(CryptoError) as exc:
        crypto.decrypt(_raw_cipher(AES_KEY, plain))
    assert _reason(exc) == "padding"


def test_a_length_past_the_end_is_refused(crypto: WeComCrypto) -> None:
    body = b"r" * 16 + struct.pack(">I", 10_000) + b"<xml/>" + CORP.encode()
    pad = 32 - len(body) % 32
    body += bytes([pad]) * pad
    with pytest.raises(CryptoError) as exc:
        crypto.decrypt(_raw_cipher(AES_KEY, body))
    assert _reason(exc) == "format"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<xml><ToUserName>x</ToUserName></xml>",  # no Encrypt
        b"<xml><Encrypt></Encrypt></xml>",
        b"<other><Encrypt>abc</Encrypt></other>",
        b'<!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>&e;</Encrypt></xml>',
        b"<xml><Encrypt>" + b"A" * (300 * 1024) + b"</Encrypt></xml>",
    ],
)
def test_broken_envelopes_are_refused(crypto: WeComCrypto, body: bytes) -> None:
    with pytest.raises(CryptoError) as exc:
        crypto.decrypt_post(POST_SIG, POST_TS, POST_NONCE, body)
    assert _reason(exc) == "format"


def test_stale_or_future_timestamps_are_refused() -> None:
    WeComCrypto.check_fresh("1700000000", 1700000000 + 3600)
    WeComCrypto.check_fresh("1700000000", 1700000000 - 3600)
    for timestamp, now in [("1700000000", 1700003601), ("1700003601", 1700000000)]:
        with pytest.raises(CryptoError) as exc:
            WeComCrypto.check_fresh(timestamp, now)
        assert _reason(exc) == "stale"
    for timestamp in ["", "abc", "-5", "１７"]:
        with pytest.raises(CryptoError) as exc:
            WeComCrypto.check_fresh(timestamp, 1700000000)
        assert _reason(exc) == "format"


@pytest.mark.parametrize("key", ["", "short", "!" * 43, "a" * 44])
def test_bad_aes_keys_are_refused(key: str) -> None:
    with pytest.raises(CryptoError) as exc:
        WeComCrypto(TOKEN, key, CORP)
    assert _reason(exc) == "key"


# -- inbound parsing ------------------------------------------------------------------------


def _xml(body: str, *, user: str = "zhangsan", ts: int = 1700000000) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{ts}</CreateTime>{body}<AgentID>1000002</AgentID></xml>"
    ).encode()


def test_parse_image_voice_video_file() -> None:
    image = parse(
        _xml(
            "<MsgType>image</MsgType><PicUrl>http://x</PicUrl>"
            "<MediaId><![CDATA[m1]]></MediaId><MsgId>11</MsgId>"
        )
    )
    assert (image.kind, image.media_id, image.dedupe_key) == ("image", "m1", "msg:11")
    voice = parse(
        _xml(
            "<MsgType>voice</MsgType><MediaId>m2</MediaId>"
            "<Format><![CDATA[amr]]></Format><MsgId>12</MsgId>"
        )
    )
    assert (voice.kind, voice.media_id, voice.format) == ("voice", "m2", "amr")
    video = parse(
        _xml(
            "<MsgType>video</MsgType><MediaId>m3</MediaId>"
            "<ThumbMediaId>t</ThumbMediaId><MsgId>13</MsgId>"
        )
    )
    assert video.kind == "video"
    file = parse(
        _xml(
            "<MsgType>file</MsgType><MediaId>m4</MediaId><Title>台账.xlsx</Title><MsgId>14</MsgId>"
        )
    )
    assert (file.kind, file.label) == ("file", "台账.xlsx")


def test_parse_location() -> None:
    loc = parse(
        _xml(
            "<MsgType>location</MsgType><Location_X>28.2282</Location_X>"
            "<Location_Y>112.9388</Location_Y><Scale>15</Scale>"
            "<Label><![CDATA[某某村村委会]]></Label><MsgId>21</MsgId>"
        )
    )
    assert loc.kind == "location"
    assert (loc.latitude, loc.longitude, loc.label) == (28.2282, 112.9388, "某某村村委会")


def test_parse_card_press() -> None:
    press = parse(
        _xml(
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
            "<EventKey><![CDATA[solve]]></EventKey><TaskId><![CDATA[p17-3]]></TaskId>"
            "<CardType><![CDATA[button_interaction]]></CardType>"
            "<ResponseCode><![CDATA[rc-abc]]></ResponseCode>"
        )
    )
    assert press == Inbound(
        kind="card_press",
        corp_id=CORP,
        user_id="zhangsan",
        create_time=1700000000,
        agent_id=1000002,
        msg_id=None,
        dedupe_key="evt:zhangsan:1700000000:template_card_event:p17-3:solve",
        event_key="solve",
        task_id="p17-3",
        response_code="rc-abc",
        event="template_card_event",
    )


def test_parse_menu_click_and_enter_agent() -> None:
    click = parse(_xml("<MsgType>event</MsgType><Event>click</Event><EventKey>visit</EventKey>"))
    assert (click.kind, click.event_key) == ("menu_click", "visit")
    assert click.dedupe_key == "evt:zhangsan:1700000000:click:visit"
    enter = parse(_xml("<MsgType>event</MsgType><Event>enter_agent</Event><EventKey/>"))
    assert (enter.kind, enter.dedupe_key) == ("enter_agent", "evt:zhangsan:1700000000:enter_agent")
    other = parse(
        _xml(
            "<MsgType>event</MsgType><Event>LOCATION</Event>"
            "<Latitude>1</Latitude><Longitude>2</Longitude>"
        )
    )
    assert (other.kind, other.event) == ("other", "LOCATION")
    link = parse(_xml("<MsgType>link</MsgType><Url>http://x</Url><MsgId>9</MsgId>"))
    assert (link.kind, link.dedupe_key) == ("other", "msg:9")


def test_retries_share_a_dedupe_key_and_different_events_do_not() -> None:
    body = "<MsgType>event</MsgType><Event>click</Event><EventKey>visit</EventKey>"
    assert parse(_xml(body)).dedupe_key == parse(_xml(body)).dedupe_key
    assert parse(_xml(body)).dedupe_key != parse(_xml(body, ts=1700000001)).dedupe_key
    assert parse(_xml(body)).dedupe_key != parse(_xml(body, user="lisi")).dedupe_key


def test_text_keeps_its_content_exactly() -> None:
    text = parse(
        _xml(
            "<MsgType>text</MsgType><Content><![CDATA[  村道塌方 <急> ]]></Content><MsgId>5</MsgId>"
        )
    )
    assert text.text == "  村道塌方 <急> "


HOSTILE = [
    b"",
    b"\x00\x01\x02",
    b"<xml>",  # truncated
    b"<notxml/>",
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    b"<xml><Content>&b;</Content></xml>",
    b'<!DOCTYPE xml SYSTEM "http://evil.example/x.dtd"><xml/>',
    b"<xml><!-- hi --><MsgType>text</MsgType></xml>",
    b"<xml>" + b"<a>" * 20000 + b"</a>" * 20000 + b"</xml>",  # over the size bound
    _xml("<MsgType>text</MsgType><MsgId>1</MsgId>"),  # no Content
    _xml("<MsgType>text</MsgType><Content>x</Content>"),  # no MsgId
    _xml("<MsgType>image</MsgType><MsgId>1</MsgId>"),  # no MediaId
    _xml("<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId>", user=""),
    _xml("<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId>", user="a b"),
    _xml("<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId>", user="u" * 65),
    _xml("<Content>x</Content><MsgId>1</MsgId>"),  # no MsgType
    _xml(
        "<MsgType>location</MsgType><Location_X>91</Location_X>"
        "<Location_Y>1</Location_Y><MsgId>1</MsgId>"
    ),
    _xml(
        "<MsgType>location</MsgType><Location_X>nan</Location_X>"
        "<Location_Y>1</Location_Y><MsgId>1</MsgId>"
    ),
    _xml("<MsgType>location</MsgType><Location_X>1</Location_X><MsgId>1</MsgId>"),
    _xml("<MsgType>event</MsgType>"),  # no Event
    _xml("<MsgType>event</MsgType><Event>template_card_event</Event><EventKey>k</EventKey>"),
    _xml("<MsgType>event</MsgType><Event>template_card_event</Event><TaskId>t</TaskId>"),
    _xml("<MsgType>event</MsgType><Event>click</Event>"),
    _xml("<MsgType>event</MsgType><Event>click</Event><EventKey>" + "k" * 300 + "</EventKey>"),
    b"<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName>"
    b"<CreateTime>soon</CreateTime><MsgType>text</MsgType><Content>x</Content>"
    b"<MsgId>1</MsgId></xml>",
    b"<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName>"
    b"<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content>"
    b"<MsgId>1</MsgId><AgentID>-3</AgentID></xml>",
]


@pytest.mark.parametrize("plain", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_xml_is_refused(plain: bytes) -> None:
    with pytest.raises(InboundError):
        parse(plain)


def test_size_bound_is_exact() -> None:
    pad = "x" * (
        MAX_XML_BYTES - len(_xml("<MsgType>text</MsgType><Content></Content><MsgId>1</MsgId>"))
    )
    ok = _xml(f"<MsgType>text</MsgType><Content>{pad}</Content><MsgId>1</MsgId>")
    assert len(ok) == MAX_XML_BYTES and parse(ok).text == pad
    with pytest.raises(InboundError):
        parse(ok.replace(b"<Content>", b"<Content>x"))
