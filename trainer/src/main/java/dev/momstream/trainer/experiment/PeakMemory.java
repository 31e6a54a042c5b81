package dev.momstream.trainer.experiment;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Resident memory of this process as Linux accounts it ({@code /proc/self/status}): libtorch's
 * allocations included, which the JVM heap statistics do not see. A measurement first hands
 * glibc's free memory back to the kernel ({@code malloc_trim(0)}), so that the resident set is
 * what is live, then resets the high-water mark ({@code echo 5 > /proc/self/clear_refs}, Linux
 * 4.0+), so that {@code VmHWM} afterwards is the peak of what ran in between. While measuring,
 * blocks of 1 MiB and more are mapped on their own ({@code mallopt}), so a freed tensor leaves the
 * resident set at once and the high-water mark is the peak of live memory, not of the heap's
 * fragmentation ({@code ./mom} otherwise keeps glibc from returning memory, for speed).
 */
final class PeakMemory {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    /** glibc's allocator: returns free heap pages to the kernel; tunes when it maps blocks of their own. */
    private interface LibC extends Library {
        int malloc_trim(long pad);

        int mallopt(int param, int value);
    }

    /** mallopt parameters (glibc malloc.h). */
    private static final int M_MMAP_THRESHOLD = -3;
    private static final int M_MMAP_MAX = -4;
    /** Blocks from this size up get pages of their own while measuring, returned to the kernel when freed. */
    private static final int MEASURE_MMAP_THRESHOLD = 1 << 20;

    private final LibC libc;

    private PeakMemory(LibC libc) {
        this.libc = libc;
    }

    /** The probe, or empty (with the reason logged by the caller) where Linux or glibc is missing. */
    static Optional<PeakMemory> open() {
        if (!Files.isReadable(STATUS) || !Files.isWritable(CLEAR_REFS)) {
            return Optional.empty();
        }
        try {
            return Optional.of(new PeakMemory(Native.load("c", LibC.class)));
        } catch (UnsatisfiedLinkError e) {
            return Optional.empty();
        }
    }

    /** Trims the allocator and returns the resident set (bytes): what is live now. */
    long resident() throws IOException {
        libc.malloc_trim(0);
        return field("VmRSS");
    }

    /**
     * Trims the allocator, starts mapping large blocks on their own, resets the high-water mark
     * and returns the resident set (bytes).
     */
    long reset() throws IOException {
        libc.malloc_trim(0);
        libc.mallopt(M_MMAP_THRESHOLD, MEASURE_MMAP_THRESHOLD);
        libc.mallopt(M_MMAP_MAX, 1 << 20);
        Files.writeString(CLEAR_REFS, "5");
        return field("VmRSS");
    }

    /**
     * The high-water mark of the resident set since the last {@link #reset} (bytes); large blocks
     * come from the heap again afterwards (what {@code ./mom} sets: MALLOC_MMAP_MAX_=0).
     */
    long peak() throws IOException {
        long peak = field("VmHWM");
        libc.mallopt(M_MMAP_MAX, 0);
        return peak;
    }

    private static long field(String name) throws IOException {
        for (String line : Files.readAllLines(STATUS)) {
            if (line.startsWith(name + ":")) {
                return Long.parseLong(line.substring(name.length() + 1).replace("kB", "").trim()) * 1024;
            }
        }
        throw new IOException(STATUS + " has no " + name);
    }
}
