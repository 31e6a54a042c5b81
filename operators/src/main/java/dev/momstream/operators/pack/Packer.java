package dev.momstream.operators.pack;

import dev.momstream.operators.records.DocRef;
import dev.momstream.operators.records.Window;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Packs documents into windows of {@code length = context + 1} tokens, exactly like the offline
 * sampler cuts its token stream: documents are concatenated, each followed by end-of-text, and
 * window i covers stream positions {@code i*T .. i*T+T} (consecutive windows share one token, so
 * every token after the first is a target exactly once).
 *
 * <p>A document is attributed to the one window in which its end-of-text token is a target
 * (positions 1..T of the window), so lineage names each document exactly once even when its
 * tokens span several windows. Not thread-safe.
 */
public final class Packer {

    private final int length;
    private int[] buf;
    private int size;
    // In end-of-text order; every index is at least 1 (index 0 was the previous window's last target).
    private final List<PendingDoc> docs = new ArrayList<>();

    public Packer(int length) {
        if (length < 2) {
            throw new IllegalArgumentException("windows need at least 2 tokens, got " + length);
        }
        this.length = length;
        this.buf = new int[2 * length];
    }

    /**
     * A packer continuing from {@code carries} (in order). Several carries only occur after a
     * rescale; they are joined, the first token of each later one dropped because it was already
     * a target of its own previous window.
     */
    public static Packer restore(int length, List<Carry> carries) {
        Packer packer = new Packer(length);
        for (Carry carry : carries) {
            if (carry.tokens().length == 0) {
                continue;
            }
            int skip = packer.size == 0 ? 0 : 1;
            int shift = packer.size - skip;
            packer.append(Arrays.copyOfRange(carry.tokens(), skip, carry.tokens().length));
            for (PendingDoc doc : carry.docs()) {
                packer.docs.add(new PendingDoc(doc.ref(), doc.eotIndex() + shift));
            }
        }
        return packer;
    }

    /** Adds a document (its tokens, then end-of-text) and emits every window that is now full. */
    public void add(DocRef ref, int[] tokens, Consumer<Window> out) {
        append(tokens);
        append(new int[] {Gpt2Tokenizer.END_OF_TEXT});
        docs.add(new PendingDoc(ref, size - 1));
        int start = 0;
        while (size - start >= length) {
            int last = start + length - 1;
            int attributed = 0;
            while (attributed < docs.size() && docs.get(attributed).eotIndex() <= last) {
                attributed++;
            }
            DocRef[] refs = new DocRef[attributed];
            for (int i = 0; i < attributed; i++) {
                refs[i] = docs.get(i).ref();
            }
            docs.subList(0, attributed).clear();
            out.accept(new Window(Arrays.copyOfRange(buf, start, start + length), refs));
            start = last;
        }
        dropFront(start);
    }

    /** The state to keep across a checkpoint. */
    public Carry carry() {
        return new Carry(Arrays.copyOf(buf, size), docs.toArray(PendingDoc[]::new));
    }

    private void append(int[] tokens) {
        if (size + tokens.length > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(2 * buf.length, size + tokens.length));
        }
        System.arraycopy(tokens, 0, buf, size, tokens.length);
        size += tokens.length;
    }

    private void dropFront(int n) {
        if (n == 0) {
            return;
        }
        System.arraycopy(buf, n, buf, 0, size - n);
        size -= n;
        docs.replaceAll(d -> new PendingDoc(d.ref(), d.eotIndex() - n));
        if (buf.length > 4 * length && size < length) {
            buf = Arrays.copyOf(buf, 2 * length); // a huge document grew it; don't keep the memory
        }
    }
}
