package dev.momstream.operators.diloco;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.momstream.operators.records.Batch;
import dev.momstream.operators.records.Window;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.plugable.SerializationDelegate;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** Which replica trains which batch: by sequence number alone, the same after a restore. */
class BySequenceTest {

    @Test
    void replicaKTrainsEveryPthBatchFromK() {
        for (int replicas = 1; replicas <= 4; replicas++) {
            BySequence partitioner = new BySequence();
            partitioner.setup(replicas);
            SerializationDelegate<StreamRecord<NumberedBatch>> record = new SerializationDelegate<>(null);
            List<List<Long>> assigned = new ArrayList<>();
            for (int k = 0; k < replicas; k++) {
                assigned.add(new ArrayList<>());
            }
            for (long seq = 0; seq < 12; seq++) {
                record.setInstance(new StreamRecord<>(new NumberedBatch(seq, batch())));
                assigned.get(partitioner.selectChannel(record)).add(seq);
            }
            for (int k = 0; k < replicas; k++) {
                int p = replicas;
                int r = k;
                assertEquals(LongStream.range(0, 12).filter(s -> s % p == r).boxed().toList(), assigned.get(k),
                        "replica " + k + " of " + replicas);
            }
        }
    }

    @Test
    void batchesAreNumberedInOrderAndARestoreContinuesTheNumbering() throws Exception {
        OperatorSubtaskState state;
        List<Long> first;
        try (var h = harness()) {
            h.open();
            for (int i = 0; i < 3; i++) {
                h.processElement(batch(), i);
            }
            state = h.snapshot(1, 1);
            first = h.extractOutputValues().stream().map(NumberedBatch::seq).toList();
        }
        assertEquals(List.of(0L, 1L, 2L), first);
        try (var h = harness()) {
            h.initializeState(state);
            h.open();
            h.processElement(batch(), 3);
            assertEquals(List.of(3L), h.extractOutputValues().stream().map(NumberedBatch::seq).toList());
        }
    }

    private static OneInputStreamOperatorTestHarness<Batch, NumberedBatch> harness() throws Exception {
        return new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new SequenceBatches()));
    }

    private static Batch batch() {
        return new Batch(new Window[0]);
    }
}
