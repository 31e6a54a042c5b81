package dev.momstream.trainer.onnx;

import java.io.IOException;

/** An exported model that is incomplete, corrupt, inconsistent, or that ONNX Runtime cannot load. */
public final class OnnxModelException extends IOException {
    private static final long serialVersionUID = 1L;

    public OnnxModelException(String message) {
        super(message);
    }

    public OnnxModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
