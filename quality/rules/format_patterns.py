"""Patterns of the `formats` rules, in the subset where Java (Spark's `rlike`) and Python's `re` (with
`re.ASCII`) agree, without anchors: each engine matches them against the whole value (see
`quality.rules.patterns`). No `.`, `$` or `\\b`: those are where the two dialects differ."""

from collections.abc import Sequence

_HEX = "[0-9A-Fa-f]"

IPV4_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = rf"{IPV4_OCTET}(?:\.{IPV4_OCTET}){{3}}"


def _ipv6() -> str:
    """Eight groups of 1-4 hex digits; `::` standing for one or more zero groups; the last two groups
    possibly written as an IPv4 address. Every form spelled out by the number of groups left of `::`."""
    h = f"{_HEX}{{1,4}}"
    forms = [f"(?:{h}:){{7}}{h}", f"(?:{h}:){{6}}{IPV4}"]
    for left in range(8):  # `left` groups, then ::, then at most 7 - left groups (at most 6 with ::)
        head = "" if left == 0 else f"(?:{h}:){{{left - 1}}}{h}"
        room = 7 - left
        if room >= 1:
            forms.append(f"{head}::(?:{h}(?::{h}){{0,{room - 1}}})?")
        else:
            forms.append(f"{head}::")
        if room >= 2:  # an IPv4 tail takes two groups
            forms.append(f"{head}::(?:{h}:){{0,{room - 2}}}{IPV4}")
    return "(?:" + "|".join(forms) + ")"


IPV6 = _ipv6()

# RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens, 1-63 characters each, 253 at
# most in all (the lookahead: Python 3.11 has no `\z`, so the end is "no more host name characters").
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = rf"(?=[A-Za-z0-9.-]{{1,253}}(?![A-Za-z0-9.-])){LABEL}(?:\.{LABEL})*"

# A practical e-mail address: dot-atoms of RFC 5322 characters before a single @ (64 at most), then a domain
# of labels and a top-level domain of 2 or more letters. No quoted local parts, no IP literals.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL = rf"(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@(?:{LABEL}\.)+[A-Za-z]{{2,63}}"

UUID = rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"

E164_PHONE = r"\+[1-9]\d{1,14}"

MAC_ADDRESS = rf"{_HEX}{{2}}(?::{_HEX}{{2}}){{5}}|{_HEX}{{2}}(?:-{_HEX}{{2}}){{5}}"

_PORT = r"(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}|0)"
# After the host and port: a path, query or fragment of anything but whitespace and control characters.
_REST = r"(?:[/?#][^\x00-\x20\x7f]*)?"


def url(schemes: Sequence[str]) -> str:
    """scheme://host[:port][/path][?query][#fragment]; the scheme one of `schemes` (any case), the host a
    host name, an IPv4 address or a bracketed IPv6 address."""
    names = "|".join(s.replace("+", r"\+").replace(".", r"\.") for s in schemes)
    return rf"(?i:{names})://(?:{HOSTNAME}|\[{IPV6}\])(?::{_PORT})?{_REST}"
