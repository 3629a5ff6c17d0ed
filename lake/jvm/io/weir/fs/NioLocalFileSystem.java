package io.weir.fs;

import org.apache.hadoop.fs.LocalFileSystem;

/** {@code file:} as Hadoop's checksummed LocalFileSystem over {@link NioRawLocalFileSystem} ({@code fs.file.impl}). */
public class NioLocalFileSystem extends LocalFileSystem {
  public NioLocalFileSystem() {
    super(new NioRawLocalFileSystem());
  }
}
