package dev.momstream.operators.diloco;

import org.apache.flink.runtime.io.network.api.writer.SubtaskStateMapper;
import org.apache.flink.runtime.plugable.SerializationDelegate;
import org.apache.flink.streaming.runtime.partitioner.StreamPartitioner;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Batch {@code seq} goes to replica {@code seq mod P}: each replica trains every P-th batch, the
 * same ones after any restore. (Flink's round robin starts at a random channel, so the batches a
 * replica trains would differ from run to run.)
 *
 * <p>A {@link StreamPartitioner} of its own, not a {@code partitionCustom} function: Flink makes
 * every edge of a custom function partitioner aligned, also with unaligned checkpoints forced,
 * and a replica that trains from mails or has parked at its stop step reads no input, so an
 * aligned barrier would never reach it. This edge takes unaligned barriers, and a restore with
 * another P sends every new replica all in-flight batches ({@link SubtaskStateMapper#FULL}), of
 * which it keeps those this partitioner assigns to it with the new P.
 */
public final class BySequence extends StreamPartitioner<NumberedBatch> {

    private static final long serialVersionUID = 1L;

    @Override
    public int selectChannel(SerializationDelegate<StreamRecord<NumberedBatch>> record) {
        return replica(record.getInstance().getValue().seq(), numberOfChannels);
    }

    /** The replica of batch {@code seq} among {@code replicas}. */
    public static int replica(long seq, int replicas) {
        return (int) Math.floorMod(seq, (long) replicas);
    }

    @Override
    public StreamPartitioner<NumberedBatch> copy() {
        return this;
    }

    @Override
    public SubtaskStateMapper getDownstreamSubtaskStateMapper() {
        return SubtaskStateMapper.FULL;
    }

    @Override
    public boolean isPointwise() {
        return false;
    }

    @Override
    public String toString() {
        return "BY_SEQUENCE";
    }
}
