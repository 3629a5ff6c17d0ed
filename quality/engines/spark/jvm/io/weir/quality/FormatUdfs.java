package io.weir.quality;

import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;

/**
 * The matchers of {@link Formats} as Spark Java UDFs ({@code spark.udf.registerJavaFunction}, one per format,
 * registered by {@code quality.engines.spark.matchers.register}). A null value gives null, as {@code rlike} does.
 * Each class implements its UDF interface itself: Spark looks for it on the class, not on a superclass.
 */
public final class FormatUdfs {
  private FormatUdfs() {}

  public static final class Uuid implements UDF1<String, Boolean> {
    @Override
    public Boolean call(String s) {
      return s == null ? null : Formats.uuid(s);
    }
  }

  public static final class CanonicalUuid implements UDF1<String, Boolean> {
    @Override
    public Boolean call(String s) {
      return s == null ? null : Formats.canonicalUuid(s);
    }
  }

  public static final class EventType implements UDF1<String, Boolean> {
    @Override
    public Boolean call(String s) {
      return s == null ? null : Formats.eventType(s);
    }
  }

  public static final class E164 implements UDF1<String, Boolean> {
    @Override
    public Boolean call(String s) {
      return s == null ? null : Formats.e164(s);
    }
  }

  public static final class Mac implements UDF1<String, Boolean> {
    @Override
    public Boolean call(String s) {
      return s == null ? null : Formats.mac(s);
    }
  }

  public static final class Ipv4 implements UDF1<String, Boolean> {
    @Override
    public Boolean call(String s) {
      return s == null ? null : Formats.ipv4(s);
    }
  }

  public static final class Ipv6 implements UDF1<String, Boolean> {
    @Override
    public Boolean call(String s) {
      return s == null ? null : Formats.ipv6(s);
    }
  }

  public static final class Hostname implements UDF1<String, Boolean> {
    @Override
    public Boolean call(String s) {
      return s == null ? null : Formats.hostname(s);
    }
  }

  public static final class Email implements UDF1<String, Boolean> {
    @Override
    public Boolean call(String s) {
      return s == null ? null : Formats.email(s);
    }
  }

  public static final class IsoDate implements UDF1<String, Boolean> {
    @Override
    public Boolean call(String s) {
      return s == null ? null : Formats.isoDate(s);
    }
  }

  public static final class Rfc3339 implements UDF1<String, Boolean> {
    @Override
    public Boolean call(String s) {
      return s == null ? null : Formats.rfc3339(s);
    }
  }

  /** {@code url(value, schemes)}: the schemes lowercase and comma-separated. */
  public static final class Url implements UDF2<String, String, Boolean> {
    @Override
    public Boolean call(String s, String schemes) {
      return s == null || schemes == null ? null : Formats.url(s, schemes);
    }
  }
}
