import Crypto
import Foundation

/// SHA-1 (swift-crypto), for the pack's trailing checksum and object ids.
package enum SHA1 {
    package static func hash(_ data: Data) -> [UInt8] {
        Array(Insecure.SHA1.hash(data: data))
    }
}
