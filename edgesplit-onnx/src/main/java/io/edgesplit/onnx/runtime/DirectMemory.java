package io.edgesplit.onnx.runtime;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;

/**
 * Frees a direct buffer's native memory now rather than at a GC, for the few buffers that hold a
 * model's weights (gigabytes). Uses {@code sun.misc.Unsafe.invokeCleaner}, the JDK's only way to do
 * it for a {@code ByteBuffer} on Java 21; where it is missing the memory goes with the next GC, as
 * before. The buffer must not be touched afterwards.
 */
final class DirectMemory {
    private static final MethodHandle CLEANER = cleaner();

    private DirectMemory() {}

    private static MethodHandle cleaner() {
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            var field = unsafeClass.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            return MethodHandles.lookup().findVirtual(unsafeClass, "invokeCleaner",
                    MethodType.methodType(void.class, ByteBuffer.class)).bindTo(field.get(null));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    static void free(ByteBuffer buffer) {
        if (CLEANER == null || !buffer.isDirect()) {
            return;
        }
        try {
            CLEANER.invokeExact(buffer);
        } catch (Throwable e) {
            // a slice or an already freed buffer: the GC takes it
        }
    }
}
