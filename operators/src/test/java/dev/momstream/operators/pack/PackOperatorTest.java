package dev.momstream.operators.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.momstream.operators.records.DocRef;
import dev.momstream.operators.records.TokenizedDoc;
import dev.momstream.operators.records.Window;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The operator in Flink's test harness: the packer's windows, in order, and a restore from any
 * checkpoint continuing them exactly (the harness's output always has room; a full output is
 * shown by {@code LargeRecordIT} in the pipeline module).
 */
class PackOperatorTest {

    private static final int T = 8;

    private static List<TokenizedDoc> docs(int n) {
        Random r = new Random(3);
        List<TokenizedDoc> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new TokenizedDoc(new DocRef("text.train", 0, i), r.ints(1 + r.nextInt(40), 0, 1000).toArray()));
        }
        return out;
    }

    private static OneInputStreamOperatorTestHarness<TokenizedDoc, Window> harness(OperatorSubtaskState restored)
            throws Exception {
        PackOperator operator = new PackOperator(T + 1);
        OneInputStreamOperatorTestHarness<TokenizedDoc, Window> h = new OneInputStreamOperatorTestHarness<>(operator);
        h.setup();
        // Flink's task hands every operator its mailbox when it creates it; the harness does not.
        operator.setMailboxExecutor(operator.getContainingTask().getMailboxExecutorFactory().createExecutor(0));
        h.initializeState(restored);
        h.open();
        return h;
    }

    @Test
    void windowsAreThePackersAndARestoreContinuesThemExactly() throws Exception {
        List<TokenizedDoc> docs = docs(80);
        Packer packer = new Packer(T + 1);
        List<String> expected = new ArrayList<>();
        docs.forEach(d -> packer.add(d.ref(), d.tokens(), w -> expected.add(render(w))));

        for (int cut = 0; cut <= docs.size(); cut += 13) {
            List<String> windows = new ArrayList<>();
            OperatorSubtaskState state;
            try (OneInputStreamOperatorTestHarness<TokenizedDoc, Window> before = harness(null)) {
                for (TokenizedDoc d : docs.subList(0, cut)) {
                    before.processElement(d, 0);
                }
                state = before.snapshot(1, 1);
                before.extractOutputValues().forEach(w -> windows.add(render(w)));
            }
            try (OneInputStreamOperatorTestHarness<TokenizedDoc, Window> after = harness(state)) {
                for (TokenizedDoc d : docs.subList(cut, docs.size())) {
                    after.processElement(d, 0);
                }
                after.extractOutputValues().forEach(w -> windows.add(render(w)));
            }
            assertEquals(expected, windows, "restored after " + cut + " documents");
        }
    }

    private static String render(Window w) {
        return Arrays.toString(w.tokens()) + Arrays.toString(w.docs());
    }
}
