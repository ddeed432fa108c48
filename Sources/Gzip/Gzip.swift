import CZlib

/// gzip through zlib, for the Talos kubeconfig stream (a .tar.gz, see `TalosKubeconfigArchive`).
///
/// A target of its own so that it is the only code compiled against `CZlib`: gRPC's NIO transport
/// brings its own module over the same `zlib.h`, and in a module that sees both (Provisioners,
/// built whole-module in release) clang gives `z_stream`'s fields to gRPC's module, which
/// `MemberImportVisibility` then refuses.
package enum Gzip {
    /// zlib refused: its status code and what we were doing.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }

    /// Compresses `bytes` into one gzip member.
    package static func compress(_ bytes: [UInt8]) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16 asks zlib for a gzip header and trailer instead of a zlib one.
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure("zlib could not start compressing")
        }
        defer { deflateEnd(&stream) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 32)
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw Failure("zlib could not compress (\(status))") }
        return Array(output.prefix(Int(stream.total_out)))
    }

    /// Decompresses gzip data until `enough` says the output so far suffices or the input ends.
    /// A truncated stream is no error here: the caller decides whether it got what it needed.
    package static func decompress(_ bytes: [UInt8], enough: ([UInt8]) -> Bool = { _ in false }) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure("zlib could not start decompressing")
        }
        defer { inflateEnd(&stream) }
        var input = bytes
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var status = Z_OK
        input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { target -> Int in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return target.count - Int(stream.avail_out)
                }
                output += chunk.prefix(produced)
            } while status == Z_OK && !enough(output) && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
            throw Failure("the gzip stream is corrupt (zlib \(status))")
        }
        return output
    }
}
