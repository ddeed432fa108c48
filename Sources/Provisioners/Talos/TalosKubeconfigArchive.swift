import Gzip

/// The kubeconfig as Talos' `Kubeconfig` call streams it: a .tar.gz holding one file
/// `kubeconfig` (mode 0600) whose tar writer is never closed, so neither padding after the data nor
/// the end-of-archive blocks ever come (../shared/reference/talos/API-FACTS.md section 6, from
/// `pkg/kubeconfig/generate.go` and talosctl's `helpers/archive.go`). The reader takes the first
/// header and exactly `size` bytes after it, as Go's tar reader does.
package enum TalosKubeconfigArchive {
    private static let block = 512

    /// The first file of the (possibly unterminated) archive.
    package static func firstFile(inTarGz archive: [UInt8]) throws(ProvisionerError) -> (name: String, contents: [UInt8]) {
        var wanted: Int?
        let tar: [UInt8]
        do {
            tar = try Gzip.decompress(archive) { output in
                if wanted == nil, output.count >= block { wanted = try? block + Self.size(ofHeader: Array(output.prefix(block))) }
                return wanted.map { output.count >= $0 } ?? false
            }
        } catch {
            throw ProvisionerError(.transport, "the kubeconfig stream: \(error)")
        }
        guard tar.count >= block else {
            throw ProvisionerError(.transport, "the kubeconfig stream ended inside the tar header (\(tar.count) bytes)")
        }
        let header = Array(tar.prefix(block))
        let length = try Self.size(ofHeader: header)
        guard tar.count >= block + length else {
            throw ProvisionerError(.transport, "the kubeconfig stream ended after \(tar.count - block) of \(length) bytes")
        }
        let name = String(decoding: header[0..<100].prefix { $0 != 0 }, as: UTF8.self)
        return (name, Array(tar[block..<(block + length)]))
    }

    /// The file size a ustar header declares, after checking its checksum.
    private static func size(ofHeader header: [UInt8]) throws(ProvisionerError) -> Int {
        // POSIX ustar: the checksum is the byte sum of the header with its own field read as spaces.
        let declared = octal(header[148..<156])
        let sum = header.enumerated().reduce(0) { total, item in total + ((148..<156).contains(item.offset) ? 32 : Int(item.element)) }
        guard let declared, declared == sum else {
            throw ProvisionerError(.transport, "the kubeconfig stream does not start with a valid tar header")
        }
        guard let size = octal(header[124..<136]) else {
            throw ProvisionerError(.transport, "the kubeconfig tar header has no readable size")
        }
        return size
    }

    private static func octal(_ field: ArraySlice<UInt8>) -> Int? {
        let digits = field.filter { $0 != 0 && $0 != 32 }
        guard !digits.isEmpty else { return nil }
        return Int(String(decoding: digits, as: UTF8.self), radix: 8)
    }

    /// Builds the stream a Talos node sends: header and data, nothing after, gzip'd.
    package static func unterminatedTarGz(name: String, contents: [UInt8], mode: Int = 0o600, modified: Int = 0) throws(ProvisionerError) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: block)
        func put(_ text: String, at offset: Int) {
            for (index, byte) in text.utf8.enumerated() { header[offset + index] = byte }
        }
        func octalField(_ value: Int, width: Int) -> String {
            let digits = String(value, radix: 8)
            return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
        }
        put(String(name.prefix(99)), at: 0)
        put(octalField(mode, width: 8), at: 100)
        put(octalField(0, width: 8), at: 108)
        put(octalField(0, width: 8), at: 116)
        put(octalField(contents.count, width: 12), at: 124)
        put(octalField(modified, width: 12), at: 136)
        put("        ", at: 148)
        header[156] = UInt8(ascii: "0")
        put("ustar\u{0}00", at: 257)
        let sum = header.reduce(0) { $0 + Int($1) }
        put(octalField(sum, width: 7) + "\u{0} ", at: 148)
        do {
            return try Gzip.compress(header + contents)
        } catch {
            throw ProvisionerError(.transport, "compressing the kubeconfig archive: \(error)")
        }
    }
}
