package io.edgesplit.onnx.graph;

import java.util.Arrays;
import java.util.Objects;

/**
 * Element type and the shapes a tensor had in the two probe runs. Axes whose size differed
 * between the runs are symbolic.
 */
public record TensorMeta(String name, int elemType, long[] shapeA, long[] shapeB) {
    public TensorMeta {
        Objects.requireNonNull(name, "name == null");
        shapeA = shapeA.clone();
        shapeB = shapeB.clone();
    }

    public long bytesA() {
        long n = DataTypes.size(elemType);
        for (long d : shapeA) {
            n *= d;
        }
        return n;
    }

    public int rank() {
        return shapeA.length;
    }

    public boolean isStatic(int axis) {
        return shapeB.length == shapeA.length && shapeA[axis] == shapeB[axis];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorMeta m && m.name.equals(name) && m.elemType == elemType
                && Arrays.equals(m.shapeA, shapeA) && Arrays.equals(m.shapeB, shapeB);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, elemType, Arrays.hashCode(shapeA), Arrays.hashCode(shapeB));
    }

    @Override
    public String toString() {
        return name + ":" + DataTypes.name(elemType) + Arrays.toString(shapeA);
    }
}
