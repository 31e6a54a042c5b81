package dev.momstream.trainer.data;

/**
 * A corpus entry that could not be used, and why.
 *
 * @param path   the entry as the user can find it (the corpus path joined with its relative path)
 * @param reason the operating system's reason, or what is wrong with it
 */
public record SkippedFile(String path, String reason) {

    @Override
    public String toString() {
        return path + ": " + reason;
    }
}
