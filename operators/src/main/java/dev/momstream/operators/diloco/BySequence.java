package dev.momstream.operators.diloco;

import org.apache.flink.api.common.functions.Partitioner;

/**
 * Batch {@code seq} goes to replica {@code seq mod P}: each replica trains every P-th batch, the
 * same ones after any restore. (Flink's round robin starts at a random channel, so the batches a
 * replica trains would differ from run to run.) A restore with another P sends the batches still
 * in flight by the same rule with the new P: Flink replays in-flight data of a custom partitioner
 * to every new replica, which keeps the records this partitioner assigns to it.
 */
public final class BySequence implements Partitioner<Long> {

    private static final long serialVersionUID = 1L;

    @Override
    public int partition(Long seq, int replicas) {
        return replica(seq, replicas);
    }

    /** The replica of batch {@code seq} among {@code replicas}. */
    public static int replica(long seq, int replicas) {
        return (int) Math.floorMod(seq, (long) replicas);
    }
}
