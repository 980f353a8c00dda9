"""Valid primary language subtags (ISO 639-1/2/3 and the IANA registry's other language
subtags), as axe-core checks them for ``html-lang-valid`` and Lighthouse for ``hreflang``.

The set is stored as a bit set over every two- and three-letter code (18,252 bits):
bit ``i`` of ``_BITS`` is set when the code with index ``i`` is valid, where a two-letter
code ``xy`` has index ``26·x + y`` and a three-letter code ``xyz`` ``676 + 676·x + 26·y + z``
(letters a=0 … z=25). Generated from axe-core's ``valid-langs`` table (the IANA language
subtag registry), the one Lighthouse 12 and axe-core 4.10+ use: 8,178 codes.
"""

from __future__ import annotations

import base64
import functools

_BITS_B64 = (
    "MzQmR8cZEAlkUwQAiBBoHIQMCZSAAkNEkMZZZVwEBIAR9GfXUBgOwG0ObaGJRCBhQEACAwAAEADAQdHd90d0m1NA"
    "BAJCBAEQAAQAIAAAAEEABAJA8N/f7//+/7u9/++vf//Bc/V2OYf///8P9zvw//9cUCiW/t//9///f/f///////8/"
    "nv7//9+Eq6Dn+///7/9///////+9Qh8P33X+SXEA8t3++ZMcgv/r/v////////f/////1////3//9///////f/77"
    "//////7/////+//////9/z//v//y///v//+///9////f//////f9///v/////f//vf//7///////f//321/d+gf0"
    "zxk8xIJQEgQARQQAuPsv/0krVGS9SYN4v3d+YVXV58Bxszf//vnfhVOGAADB+//7//9/d+NzePz9HxAIAFsACAAA"
    "ADAABAAgGQL93/fv7e9FACBA1pgR/L0nAgAA8N3mbVKePe//3//8SRHAYAgQDQB/fPZlnel12/4+ACAAAAAAfKd9"
    "JZkWwGK9R///9wcAABDAYDUAAABLcRBloQAQAAAAEZEEAAAGAQAAAAEAQEQAAAFIgAEAQAAAiEIAAABV3QJBVkMy"
    "VU/dK948AAAIAAQAAAAAQHCRE9B9lRmCeQoAEAAkCAAAQAAAACAQAARABAAA67+aAyAAAABAAAAAAAAAAgBEAAAA"
    "IAAAAAAxiFoAAAAAQABCYIpAAIAQCAUAgBBjCAQAAAAABDBQPwCBQAAAAAC+MzsBAAgQAQAAAAAAAAAAAAAA8P//"
    "/////TwoCvz/ffL+UT4AASJbbFpUsjnwjf89QI0EGeAQMD5JtY0z//fflv//30eAABAQIsHz1f9Q+EQEBEDw3/9v"
    "jb5BfzPaAAAAspcnUEAIAP//5w+AQRAIAAAACEHJEQAAAAAAAAEEQIBA61/KAAQAEEFCwAYABv+//2ePUfD57TYA"
    "EAEAAABUUGsriEIAQBAl/t//U5CAUAAEAAAAAAEAwAAAAAAQKsB2jkSBCAJ8BHgAAADADAVEUnhECAQCAQAiAIUY"
    "ARDN7g510xGRZpC1PoMAAFIABAEAAABFZJlk3XUaeHS5DwABgAAACABUBBAgABAABAhggIC/fp9DnGkBAMBAEAAC"
    "0i0aAAAAIEEEAEAAAd9ZOUEACBAALQEEAAEPKcYkLRCgBGBEAIAgAAACDABoAIAAAAAAAI/9XiGAAAAQAAAAAAAR"
    "AAABAADwfz3e////////9//v//////////////2///+/3f///+//////////////3////c/9/////////++/////"
    "/////+//3////////////v///////////7/X3/39z4tZwPJ/AP///weAADDcs2FgLgf/z/dHJALzuefR/38l///z"
    "L+9Ref//fwQYIAAAAFT1qZid7xJxGAU9/38HFFAQjcUFAAAAQSAAAKIAuHfb7+///////////v////f/////////"
    "/3/////99///9/////7f+/+///////3X/3///3////+////+///////3/f/7fv//////////7/////f/////z//f"
    "//f//+n77///d/8nIEjw////f/3+/3//L+55/n//b9Xf/P///////t//3/dwGmVAfAHd9Wr63/8/1rX1////A0IB"
    "cBUlWFbfJP7//y1UUFwAIAJAlwaBQBAEEGAAAAAAABAFVkAQAABgEAACgBEgGdt/tmRQaXDVvs/UuTdIIAYEUCEE"
    "AABANZj/BcGYbPR9PxEDAAIAAAAJAAAAAKAAARAABAD/3f/b5/v8/ytEQRgG+9+lRyAAkNRCcXLfHv/7/gMAIHAM"
    "7sG/+9+/f99////PX99+RP8HERBA/Pd/353/VWD4Xn/X2wMAADAUJwQABAAQMJQBgAAQAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAPDee37lPtGVEAwUon8RAAgA"
    "AAAA7///CzACAAIAgAAAAFM7DgEAABBBYgEQIAAxOBoABRAwGIEEAAAA//3/J6EK8YctBQAIAgAAAAAEISCQAQAh"
    "BBH2xRkDAAAQQCUAAgAQACAUAAIA8Pv9//////Pt/dz7//r//7cEBBHf/95///+///3/Fr8X//f/9+9+//77v/3/"
    "/d/v93v1/xZo98F93////7/v//919fH+BYUh5v//WfFZ8dBn3BcqWX/v9//////f3/3/32//9f8DhCnwP/4/b+//"
    "/f/9B+1Tscf77/v/f///f//3/++/fX/d//4C+Fv8//////n////f//v9Z/Bx94+/3fXcZ5GrvgbqAQIAI0BAgkQA"
    "AABEbUAAAEAAQAAAE2AABYAAAABAAkAAAMGNdd30QPEUb0EWraQABAAABIAAAADA/b/+gYUURAJKAAAjASQCAAEA"
    "AAAAABAAAAAACAHx+zYJEAAAAAAAAAAADNgCAAAAAACgAAAAAGwoLAAAABDwjQEAIAH/n/cDUAIAAKAAAAAAAAAA"
    "BAAxAJAAAgAQAAAwCAAAABAAAAAAAAAAAAAAAADw////7OcbAQEAIBlA1BzvBRAAAENBUAURQGD/o1dAAAALCFJV"
    "d9n3GceMVz1Uf3VGEQAAAAAAwHK//UEFNoBWALGIoxsAAAADQEIEAAAxECEQAAAAX/9/fc0LZ42nVwEVQEqYHgQA"
    "ALCWI0UHgA4DqSYJACDw//7/VzhF//7/L9d5zFQvxP///wEACGzFbPG5f9P3/t9L+hpAhBHQ5aSEAIUCAw4IAUIC"
    "8P///+YfYICoAGQREFCx4hMAAAABmVYkIBAQ/vs7AAAAQX0aTeVJ9N3/aDZbBUI9jA3TAwgAAMBEH1FM6AYFIAL1"
    "97t9AAACQShbBGFABAAgIRABAP/f/1cgIBEIAACAAADBIAAAAAAwCCOAQggwAzxCAgAAsEyuI4RMEf///2cREEAI"
    "dcD///8QAAAEgRMQwCEBFG5ngTAAAQAAEAAAAAAAIEKiAAQIAAA="
)


@functools.cache
def _bits() -> bytes:
    return base64.b64decode(_BITS_B64)


def _index(code: str) -> int | None:
    if not code.isascii() or not code.isalpha() or len(code) not in (2, 3):
        return None
    digits = [ord(c) - 97 for c in code]
    if len(digits) == 2:
        return 26 * digits[0] + digits[1]
    return 676 + 676 * digits[0] + 26 * digits[1] + digits[2]


def is_valid_lang(code: str) -> bool:
    """Whether ``code`` (a primary subtag, any case) is a registered language subtag."""
    index = _index(code.strip().lower())
    if index is None:
        return False
    return bool(_bits()[index >> 3] & (1 << (index & 7)))


def primary_subtag_valid(tag: str) -> bool:
    """axe-core's ``valid-lang`` / Lighthouse's hreflang rule: the part before the first
    ``-`` is a valid language subtag (script and region are not checked)."""
    return is_valid_lang(tag.strip().split("-")[0])
