package dev.momstream.trainer.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One document of a {@link Corpus}, read when asked for, so that a corpus never sits in memory whole. */
public sealed interface CorpusEntry {

    /** The document's id: its path relative to the corpus directory, or its bundled id. */
    String id();

    /** Where the document is, for messages: its file as the user named it, or its bundled id. */
    String where();

    /** The document's content; throws with the operating system's reason when the file cannot be read. */
    Content read() throws IOException;

    /** A document already in memory (the bundled corpus). */
    record InMemory(String id, String text) implements CorpusEntry {
        @Override
        public String where() {
            return id;
        }

        @Override
        public Content read() {
            return new Content.Text(text);
        }
    }

    /** A regular file, read whole on each call. */
    record OnDisk(String id, Path file) implements CorpusEntry {
        @Override
        public String where() {
            return file.toString();
        }

        @Override
        public Content read() throws IOException {
            return Content.decode(Files.readAllBytes(file));
        }
    }
}
