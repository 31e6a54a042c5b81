package dev.momstream.trainer.onnx.proto;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads the fields of one protocol-buffers message in order. Bounds are checked on every read:
 * a truncated or garbled file fails with {@link MalformedProtoException}, never with an index
 * error or an endless loop.
 */
public final class ProtoReader {
    private final byte[] buf;
    private final int end;
    private int pos;
    private int field;
    private int wireType;

    public ProtoReader(byte[] buf) {
        this(buf, 0, buf.length);
    }

    private ProtoReader(byte[] buf, int from, int to) {
        this.buf = buf;
        this.pos = from;
        this.end = to;
    }

    /** Advances to the next field; false at the end of the message. */
    public boolean next() throws MalformedProtoException {
        if (pos >= end) {
            return false;
        }
        long tag = rawVarint();
        field = (int) (tag >>> 3);
        wireType = (int) (tag & 7);
        if (field < 1) {
            throw new MalformedProtoException("field number " + field + " at byte " + pos);
        }
        return true;
    }

    public int field() {
        return field;
    }

    public long varint() throws MalformedProtoException {
        expect(0);
        return rawVarint();
    }

    /** A length-delimited field as a nested message. */
    public ProtoReader message() throws MalformedProtoException {
        int length = lengthPrefix();
        ProtoReader r = new ProtoReader(buf, pos, pos + length);
        pos += length;
        return r;
    }

    public byte[] bytes() throws MalformedProtoException {
        int length = lengthPrefix();
        byte[] b = Arrays.copyOfRange(buf, pos, pos + length);
        pos += length;
        return b;
    }

    public String string() throws MalformedProtoException {
        return new String(bytes(), StandardCharsets.UTF_8);
    }

    /** Repeated int64 in either encoding: one varint, or a packed run of them. */
    public void int64s(java.util.function.LongConsumer sink) throws MalformedProtoException {
        if (wireType == 0) {
            sink.accept(rawVarint());
            return;
        }
        int length = lengthPrefix();
        int stop = pos + length;
        while (pos < stop) {
            sink.accept(rawVarint());
        }
        if (pos != stop) {
            throw new MalformedProtoException("packed varints overrun their field");
        }
    }

    /** Skips the current field's value. */
    public void skip() throws MalformedProtoException {
        switch (wireType) {
            case 0 -> rawVarint();
            case 1 -> advance(8);
            case 2 -> advance(lengthPrefix());
            case 5 -> advance(4);
            default -> throw new MalformedProtoException("unsupported wire type " + wireType
                    + " of field " + field);
        }
    }

    private int lengthPrefix() throws MalformedProtoException {
        expect(2);
        long length = rawVarint();
        if (length < 0 || length > end - pos) {
            throw new MalformedProtoException("field " + field + " claims " + length
                    + " bytes but " + (end - pos) + " remain");
        }
        return (int) length;
    }

    private void advance(int n) throws MalformedProtoException {
        if (n > end - pos) {
            throw new MalformedProtoException("field " + field + " runs past the end");
        }
        pos += n;
    }

    private void expect(int type) throws MalformedProtoException {
        if (wireType != type) {
            throw new MalformedProtoException("field " + field + " has wire type " + wireType
                    + ", expected " + type);
        }
    }

    private long rawVarint() throws MalformedProtoException {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= end) {
                throw new MalformedProtoException("truncated varint");
            }
            byte b = buf[pos++];
            v |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return v;
            }
        }
        throw new MalformedProtoException("varint longer than 10 bytes");
    }

    /** The bytes are not a valid protocol-buffers message of the expected kind. */
    public static final class MalformedProtoException extends Exception {
        private static final long serialVersionUID = 1L;

        public MalformedProtoException(String message) {
            super(message);
        }
    }
}
