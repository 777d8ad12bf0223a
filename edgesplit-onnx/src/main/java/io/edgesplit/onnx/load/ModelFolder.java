package io.edgesplit.onnx.load;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Resolves file names that a model names (external data, weight shards) inside the model's
 * folder, refusing absolute paths, {@code ..} and symbolic links before anything is opened.
 */
public final class ModelFolder {
    private ModelFolder() {}

    /**
     * @param where names what asks, for the error ("model.onnx: external data of tensor 'w'")
     */
    public static Path resolveInside(Path folder, String location, String where) {
        Path base = folder.toAbsolutePath().normalize();
        if (location == null || location.isEmpty()) {
            throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED, where + " has no location");
        }
        Path loc;
        try {
            loc = Path.of(location);
        } catch (InvalidPathException e) {
            throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED, where + " has an invalid location '" + location + "'");
        }
        if (loc.isAbsolute() || location.startsWith("/") || location.startsWith("\\") || location.contains(":")) {
            throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED,
                    where + " uses the absolute path '" + location + "'; only paths inside the model's folder are allowed");
        }
        for (Path part : loc) {
            if (part.toString().equals("..")) {
                throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED,
                        where + " leaves the model's folder ('" + location + "' contains '..')");
            }
        }
        Path resolved = base.resolve(loc).normalize();
        if (!resolved.startsWith(base) || resolved.equals(base)) {
            throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED, where + " leaves the model's folder ('" + location + "')");
        }
        // lstat only: a symlink anywhere below the model's folder could point outside it.
        Path walk = base;
        for (Path part : base.relativize(resolved)) {
            walk = walk.resolve(part);
            if (Files.isSymbolicLink(walk)) {
                throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED, where + " goes through the symbolic link '"
                        + base.relativize(walk) + "'; symbolic links are refused because they can leave the model's folder");
            }
        }
        if (!Files.isRegularFile(resolved, LinkOption.NOFOLLOW_LINKS)) {
            throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED,
                    where + " names '" + location + "', which is not a file in the model's folder");
        }
        return resolved;
    }
}
