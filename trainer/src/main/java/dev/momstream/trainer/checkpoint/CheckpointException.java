package dev.momstream.trainer.checkpoint;

import java.io.IOException;

/** A checkpoint that is incomplete, corrupt or does not match what it is loaded into. */
public final class CheckpointException extends IOException {
    private static final long serialVersionUID = 1L;

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
