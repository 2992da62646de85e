//! The gRPC codec of generated hosts: prost's, except that request bytes
//! that do not decode are the client's fault (`INVALID_ARGUMENT`), not the
//! server's (`INTERNAL`, which is what tonic-prost reports).

use std::marker::PhantomData;

use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// [`ProstCodec`] with decode errors reported as `INVALID_ARGUMENT`.
/// host-gen sets it as the codec of every generated server
/// (`tonic_prost_build::Builder::codec_path`).
#[derive(Debug, Clone)]
pub struct StrictProstCodec<T, U> {
    _marker: PhantomData<(T, U)>,
}

impl<T, U> Default for StrictProstCodec<T, U> {
    fn default() -> Self {
        Self {
            _marker: PhantomData,
        }
    }
}

impl<T, U> Codec for StrictProstCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = StrictDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        StrictDecoder(ProstCodec::<T, U>::default().decoder())
    }
}

/// The decoder of [`StrictProstCodec`].
#[derive(Debug)]
pub struct StrictDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for StrictDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|status| {
            Status::invalid_argument(format!(
                "request does not decode as `{}`: {}",
                std::any::type_name::<U>()
                    .rsplit("::")
                    .next()
                    .unwrap_or("message"),
                status.message()
            ))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
