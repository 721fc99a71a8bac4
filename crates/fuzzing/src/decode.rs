//! The two decoders: lenient for server frames (the client), strict for client frames (the
//! emulator, and Google). Whatever decodes must encode canonically and decode back to the same
//! message with nothing unknown: the encoder and the decoder agree on every field.

use std::fmt::Debug;

use protocol::{Decoded, decode_client, decode_server};

/// Decode, encode, decode: the same message, every field known.
fn round_trip<T: PartialEq + Debug, E: Debug>(
    first: Result<Decoded<T>, E>,
    encode: impl Fn(&T) -> String,
    decode: impl Fn(&[u8]) -> Result<Decoded<T>, E>,
) {
    let Ok(first) = first else { return };
    let json = encode(&first.message);
    let second = match decode(json.as_bytes()) {
        Ok(second) => second,
        Err(e) => panic!("the encoder wrote what the decoder rejects ({e:?}): {json}"),
    };
    assert!(
        second.unknown.is_empty(),
        "the encoder wrote unknown fields {:?}: {json}",
        second.unknown
    );
    assert_eq!(
        first.message, second.message,
        "encode then decode changed the message: {json}"
    );
    assert_eq!(
        encode(&second.message),
        json,
        "encoding is not canonical: {json}"
    );
}

/// The lenient decoder.
pub(crate) fn server(data: &[u8]) {
    round_trip(decode_server(data), |m| m.to_json(), decode_server);
}

/// The strict decoder, as the emulator calls it.
pub(crate) fn client(data: &[u8]) {
    round_trip(decode_client(data), |m| m.to_json(), decode_client);
}
