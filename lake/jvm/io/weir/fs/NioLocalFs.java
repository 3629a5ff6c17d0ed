package io.weir.fs;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFs;

/**
 * {@code file:} for FileContext ({@code fs.AbstractFileSystem.file.impl}), which Delta's log store and
 * Spark's streaming checkpoints write through: Hadoop's checksummed LocalFs over {@link NioRawLocalFs}.
 */
public class NioLocalFs extends ChecksumFs {
  public NioLocalFs(URI uri, Configuration conf) throws IOException, URISyntaxException {
    super(new NioRawLocalFs(uri, conf));
  }
}
