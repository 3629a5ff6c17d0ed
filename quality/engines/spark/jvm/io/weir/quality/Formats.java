package io.weir.quality;

/**
 * Hand-written matchers for the patterns of {@code quality.rules.format_patterns} and
 * {@code quality.rules.patterns}: each method answers exactly what {@code ^(?:PATTERN)\z} answers through
 * {@code java.util.regex} (and Python's {@code re.fullmatch} with {@code re.ASCII}), without a regex matcher.
 * Every method takes a non-null string; the UDFs in {@link FormatUdfs} map null to null, as {@code rlike} does.
 * The Python tests compare every verdict with the regex on generated and edge-case strings.
 */
public final class Formats {
  private Formats() {}

  static boolean digit(char c) {
    return c >= '0' && c <= '9';
  }

  static boolean hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  static boolean alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }

  static boolean alnum(char c) {
    return alpha(c) || digit(c);
  }

  /** {@code [0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}}. */
  public static boolean uuid(String s) {
    return uuidShape(s, false);
  }

  /** The same in lowercase only: {@code patterns.CANONICAL_UUID}. */
  public static boolean canonicalUuid(String s) {
    return uuidShape(s, true);
  }

  private static boolean uuidShape(String s, boolean lower) {
    if (s.length() != 36) {
      return false;
    }
    for (int i = 0; i < 36; i++) {
      char c = s.charAt(i);
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        if (c != '-') {
          return false;
        }
      } else if (lower ? !(digit(c) || (c >= 'a' && c <= 'f')) : !hex(c)) {
        return false;
      }
    }
    return true;
  }

  /** {@code patterns.EVENT_TYPE}: {@code [a-z][a-z0-9_.-]{0,127}}. */
  public static boolean eventType(String s) {
    int n = s.length();
    if (n < 1 || n > 128) {
      return false;
    }
    char first = s.charAt(0);
    if (first < 'a' || first > 'z') {
      return false;
    }
    for (int i = 1; i < n; i++) {
      char c = s.charAt(i);
      if (!((c >= 'a' && c <= 'z') || digit(c) || c == '_' || c == '.' || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /** {@code \+[1-9]\d{1,14}}. */
  public static boolean e164(String s) {
    int n = s.length();
    if (n < 3 || n > 16 || s.charAt(0) != '+' || s.charAt(1) < '1' || s.charAt(1) > '9') {
      return false;
    }
    for (int i = 2; i < n; i++) {
      if (!digit(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  /** {@code HEX{2}(?::HEX{2}){5}|HEX{2}(?:-HEX{2}){5}}. */
  public static boolean mac(String s) {
    if (s.length() != 17) {
      return false;
    }
    char sep = s.charAt(2);
    if (sep != ':' && sep != '-') {
      return false;
    }
    for (int i = 0; i < 17; i++) {
      char c = s.charAt(i);
      if (i % 3 == 2 ? c != sep : !hex(c)) {
        return false;
      }
    }
    return true;
  }

  /**
   * [from, to) is a decimal of 1 to {@code maxDigits} digits without a leading zero (0 itself allowed), at most
   * {@code max}: an IPv4 octet ({@code 25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d}) or a port ({@code format_patterns._PORT}).
   */
  private static boolean decimal(String s, int from, int to, int maxDigits, int max) {
    int n = to - from;
    if (n < 1 || n > maxDigits || (n > 1 && s.charAt(from) == '0')) {
      return false;
    }
    int value = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (!digit(c)) {
        return false;
      }
      value = value * 10 + (c - '0');
    }
    return value <= max;
  }

  /** {@code format_patterns.IPV4} over exactly [from, to). */
  static boolean ipv4(String s, int from, int to) {
    int start = from;
    int parts = 0;
    for (int i = from; i <= to; i++) {
      if (i == to || s.charAt(i) == '.') {
        if (++parts > 4 || !decimal(s, start, i, 3, 255)) {
          return false;
        }
        start = i + 1;
      }
    }
    return parts == 4;
  }

  public static boolean ipv4(String s) {
    return ipv4(s, 0, s.length());
  }

  /**
   * Hex groups of 1-4 digits separated by single colons over [from, to), the last one possibly an IPv4 address
   * when {@code allowV4}: the number of groups (an IPv4 address counting 2), or -1 when the range is not that.
   * An empty range is 0 groups.
   */
  private static int groups(String s, int from, int to, boolean allowV4) {
    if (from == to) {
      return 0;
    }
    int count = 0;
    int start = from;
    for (int i = from; i <= to; i++) {
      if (i == to || s.charAt(i) == ':') {
        int n = i - start;
        if (n >= 1 && n <= 4 && allHex(s, start, i)) {
          count++;
        } else if (i == to && allowV4 && ipv4(s, start, i)) {
          count += 2;
        } else {
          return -1;
        }
        start = i + 1;
      }
    }
    return count;
  }

  private static boolean allHex(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      if (!hex(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  /** {@code format_patterns.IPV6} over exactly [from, to). */
  static boolean ipv6(String s, int from, int to) {
    int gap = s.indexOf("::", from);
    if (gap < 0 || gap + 2 > to) {
      return groups(s, from, to, true) == 8;
    }
    int left = groups(s, from, gap, false);
    if (left < 0) {
      return false;
    }
    int right = groups(s, gap + 2, to, true);
    // the left part never ends with ':' (groups() refuses an empty group), the right part never starts with one
    return right >= 0 && left + right <= 7;
  }

  public static boolean ipv6(String s) {
    return ipv6(s, 0, s.length());
  }

  /** {@code format_patterns.LABEL} over exactly [from, to): 1-63 letters, digits and inner hyphens. */
  private static boolean label(String s, int from, int to) {
    int n = to - from;
    if (n < 1 || n > 63 || !alnum(s.charAt(from)) || !alnum(s.charAt(to - 1))) {
      return false;
    }
    for (int i = from + 1; i < to - 1; i++) {
      char c = s.charAt(i);
      if (!alnum(c) && c != '-') {
        return false;
      }
    }
    return true;
  }

  /** Dot-separated labels over exactly [from, to). */
  private static boolean labels(String s, int from, int to) {
    int start = from;
    for (int i = from; i <= to; i++) {
      if (i == to || s.charAt(i) == '.') {
        if (!label(s, start, i)) {
          return false;
        }
        start = i + 1;
      }
    }
    return true;
  }

  static boolean hostChar(char c) {
    return alnum(c) || c == '.' || c == '-';
  }

  /** {@code format_patterns.HOSTNAME} over exactly [from, to). */
  static boolean hostname(String s, int from, int to) {
    int n = to - from;
    return n >= 1 && n <= 253 && labels(s, from, to);
  }

  public static boolean hostname(String s) {
    return hostname(s, 0, s.length());
  }

  private static boolean atomChar(char c) {
    return alnum(c) || "!#$%&'*+/=?^_`{|}~-".indexOf(c) >= 0;
  }

  /** {@code format_patterns.EMAIL}. */
  public static boolean email(String s) {
    int at = s.indexOf('@');
    if (at < 1 || at > 64) {
      return false;
    }
    int start = 0;
    for (int i = 0; i <= at; i++) { // the local part: dot-atoms
      if (i == at || s.charAt(i) == '.') {
        if (i == start) {
          return false;
        }
        start = i + 1;
      } else if (!atomChar(s.charAt(i))) {
        return false;
      }
    }
    int n = s.length();
    int lastDot = s.lastIndexOf('.');
    if (lastDot <= at + 1) { // at least one label, then the top-level domain
      return false;
    }
    int tld = n - lastDot - 1;
    if (tld < 2 || tld > 63) {
      return false;
    }
    for (int i = lastDot + 1; i < n; i++) {
      if (!alpha(s.charAt(i))) {
        return false;
      }
    }
    return labels(s, at + 1, lastDot);
  }

  /** {@code format_patterns.url(schemes)}, the schemes lowercase and comma-separated. */
  public static boolean url(String s, String schemes) {
    int start = 0;
    int n = schemes.length();
    while (start <= n) {
      int end = schemes.indexOf(',', start);
      if (end < 0) {
        end = n;
      }
      if (end > start && urlAfterScheme(s, schemes, start, end)) {
        return true;
      }
      start = end + 1;
    }
    return false;
  }

  private static boolean urlAfterScheme(String s, String schemes, int from, int to) {
    int len = to - from;
    if (s.length() < len + 3) {
      return false;
    }
    for (int i = 0; i < len; i++) {
      char c = s.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        c = (char) (c + 32);
      }
      if (c != schemes.charAt(from + i)) {
        return false;
      }
    }
    if (!s.startsWith("://", len)) {
      return false;
    }
    int i = len + 3;
    int n = s.length();
    if (i < n && s.charAt(i) == '[') {
      int close = s.indexOf(']', i);
      if (close < 0 || !ipv6(s, i + 1, close)) {
        return false;
      }
      i = close + 1;
    } else {
      int hostEnd = i;
      while (hostEnd < n && hostChar(s.charAt(hostEnd))) {
        hostEnd++;
      }
      if (!hostname(s, i, hostEnd)) {
        return false;
      }
      i = hostEnd;
    }
    if (i < n && s.charAt(i) == ':') {
      int portEnd = i + 1;
      while (portEnd < n && digit(s.charAt(portEnd))) {
        portEnd++;
      }
      if (!decimal(s, i + 1, portEnd, 5, 65535)) {
        return false;
      }
      i = portEnd;
    }
    if (i == n) {
      return true;
    }
    char c = s.charAt(i);
    if (c != '/' && c != '?' && c != '#') {
      return false;
    }
    for (int j = i + 1; j < n; j++) {
      char r = s.charAt(j);
      if (r <= ' ' || r == 0x7f) {
        return false;
      }
    }
    return true;
  }

  /** Two digits at i as a number, or -1. */
  private static int two(String s, int i) {
    char a = s.charAt(i);
    char b = s.charAt(i + 1);
    return digit(a) && digit(b) ? (a - '0') * 10 + (b - '0') : -1;
  }

  /** {@code patterns.ISO_DATE} over exactly [0, 10) of a string at least that long. */
  private static boolean datePart(String s) {
    for (int i = 0; i < 4; i++) {
      if (!digit(s.charAt(i))) {
        return false;
      }
    }
    if (s.startsWith("0000") || s.charAt(4) != '-' || s.charAt(7) != '-') {
      return false;
    }
    int month = two(s, 5);
    int day = two(s, 8);
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
  }

  public static boolean isoDate(String s) {
    return s.length() == 10 && datePart(s);
  }

  /** {@code patterns.RFC3339}. */
  public static boolean rfc3339(String s) {
    int n = s.length();
    if (n < 20 || !datePart(s)) {
      return false;
    }
    char sep = s.charAt(10);
    if (sep != 'T' && sep != ' ') {
      return false;
    }
    int hour = two(s, 11);
    int minute = two(s, 14);
    int second = two(s, 17);
    if (hour < 0 || hour > 23 || s.charAt(13) != ':' || minute < 0 || minute > 59 || s.charAt(16) != ':'
        || second < 0 || second > 59) {
      return false;
    }
    int i = 19;
    if (s.charAt(i) == '.') {
      int j = i + 1;
      while (j < n && digit(s.charAt(j))) {
        j++;
      }
      if (j - i - 1 < 1 || j - i - 1 > 6) {
        return false;
      }
      i = j;
    }
    if (i == n - 1) {
      return s.charAt(i) == 'Z';
    }
    if (i != n - 6) {
      return false;
    }
    char sign = s.charAt(i);
    int offHour = two(s, i + 1);
    int offMinute = two(s, i + 4);
    return (sign == '+' || sign == '-') && offHour >= 0 && offHour <= 23 && s.charAt(i + 3) == ':'
        && offMinute >= 0 && offMinute <= 59;
  }
}
