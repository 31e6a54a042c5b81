package dev.momstream.trainer.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Map;

/**
 * The operating system's reason for a failed file operation. Java names only the path for the
 * common errors ({@code NoSuchFileException: runs/x}), which leaves a user guessing; these are
 * the strerror texts of the errno values the JDK maps to those exceptions.
 */
public final class FileErrors {

    /** The errno texts behind the exceptions that carry no reason of their own. */
    private static final Map<Class<? extends IOException>, String> REASONS = Map.of(
            NoSuchFileException.class, "No such file or directory",
            AccessDeniedException.class, "Permission denied",
            FileAlreadyExistsException.class, "File exists",
            NotDirectoryException.class, "Not a directory",
            DirectoryNotEmptyException.class, "Directory not empty",
            FileSystemLoopException.class, "symbolic link loop back to an enclosing directory");

    private FileErrors() {
    }

    /** Why {@code e} happened, e.g. "No such file or directory" or "Input/output error". */
    public static String reason(IOException e) {
        String known = REASONS.get(e.getClass());
        if (known != null) {
            return known;
        }
        if (e instanceof FileSystemException f) {
            return f.getReason() != null ? f.getReason() : f.getClass().getSimpleName(); // its message is the path
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
