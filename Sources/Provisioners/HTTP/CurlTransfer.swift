import CCurl
import Foundation
import Synchronization

/// Collects one transfer's response as libcurl delivers it, and carries the cancel flag the
/// progress callback reads. Reached from C callbacks through an unmanaged pointer; used by one
/// thread at a time (the one running `curl_easy_perform`), except `cancelled`, which is atomic.
final class CurlTransfer: Sendable {
    nonisolated(unsafe) var body: [UInt8] = []
    nonisolated(unsafe) var headers: [String: String] = [:]
    let cancelled = Atomic<Bool>(false)

    /// `CURLOPT_WRITEFUNCTION`: append the chunk; returning its size tells libcurl it was taken.
    static let write: cc_data_callback = { pointer, size, count, userdata in
        let total = size * count
        guard let userdata, let pointer else { return total }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
        transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: total))
        return total
    }

    /// `CURLOPT_HEADERFUNCTION`: one header line per call; a status line starts a new response
    /// (after `100 Continue` or a redirect), so earlier headers are dropped.
    static let header: cc_data_callback = { pointer, size, count, userdata in
        let total = size * count
        guard let userdata, let pointer else { return total }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
        let line = String(decoding: UnsafeRawBufferPointer(start: pointer, count: total), as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            transfer.headers = [:]
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingSpaces().lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            if let existing = transfer.headers[name] {
                transfer.headers[name] = existing + ", " + value
            } else {
                transfer.headers[name] = value
            }
        }
        return total
    }

    /// `CURLOPT_XFERINFOFUNCTION`: a non-zero return aborts the transfer (`CURLE_ABORTED_BY_CALLBACK`).
    static let progress: cc_xferinfo_callback = { userdata, _, _, _, _ in
        guard let userdata else { return 0 }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
        return transfer.cancelled.load(ordering: .relaxed) ? 1 : 0
    }
}

extension Substring {
    /// Header values end in CRLF, which Swift treats as one `Character`; trim on scalars.
    func trimmingSpaces() -> String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
