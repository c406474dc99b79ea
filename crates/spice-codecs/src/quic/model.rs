//! QUIC's adaptive model (§2.5–§2.7): code parameters, buckets and the draw table.

/// Code-length limit the family is derived from (§2.5).
const LIMIT: u32 = 26;

/// One Golomb–Rice code with escape, for a given bpc and parameter l.
#[derive(Clone, Copy)]
pub(super) struct Code {
    /// The parameter l.
    pub l: u32,
    /// A_l: escape prefix length.
    pub a: u32,
    /// N_l: number of ordinary codewords.
    pub n: u32,
    /// S_l: escape suffix length.
    pub s: u32,
    /// 2^(32 − A_l): a 32-bit peek at least this large starts an ordinary codeword.
    pub ordinary_min: u32,
}

/// Everything that depends only on the bits per channel (8 or 5), computed at compile
/// time so the hot loop is table lookups.
pub(super) struct CodeTable {
    /// Bits per channel.
    pub bpc: usize,
    /// m = 2^bpc − 1.
    pub max: u32,
    /// Codes for l = 0 … bpc − 1 (unused entries are zeroed).
    pub codes: [Code; 8],
    /// λ_l(n) for every symbol n and parameter l (§2.5, code length function).
    lambda: [[u8; 8]; 256],
    /// β(c): the bucket of context symbol c (§2.6).
    bucket_of: [u8; 256],
}

const fn ceil_log2(v: u32) -> u32 {
    if v <= 1 {
        0
    } else {
        32 - (v - 1).leading_zeros()
    }
}

const fn code_table(bpc: u32) -> CodeTable {
    let max = (1u32 << bpc) - 1;
    let mut codes = [Code {
        l: 0,
        a: 0,
        n: 0,
        s: 0,
        ordinary_min: 0,
    }; 8];
    let mut lambda = [[0u8; 8]; 256];
    let mut l = 0;
    while l < bpc {
        let mut a = (1u32 << (bpc - l)) - 1;
        if LIMIT - bpc < a {
            a = LIMIT - bpc;
        }
        let n = a << l;
        let s = ceil_log2((1 << bpc) - n);
        codes[l as usize] = Code {
            l,
            a,
            n,
            s,
            ordinary_min: 1 << (32 - a),
        };
        let mut sym = 0;
        while sym <= max {
            lambda[sym as usize][l as usize] = if sym < n {
                ((sym >> l) + l + 1) as u8
            } else {
                (a + s) as u8
            };
            sym += 1;
        }
        l += 1;
    }
    let mut bucket_of = [0u8; 256];
    let mut c = 0u32;
    while c < 256 {
        let log = 31 - (c + 1).leading_zeros();
        bucket_of[c as usize] = if log < bpc - 1 { log } else { bpc - 1 } as u8;
        c += 1;
    }
    CodeTable {
        bpc: bpc as usize,
        max,
        codes,
        lambda,
        bucket_of,
    }
}

/// Tables for 8-bit channels (GRAY, RGB24, RGB32, RGBA).
pub(super) static CODES8: CodeTable = code_table(8);
/// Tables for 5-bit channels (RGB16).
pub(super) static CODES5: CodeTable = code_table(5);

impl CodeTable {
    /// Bucket index for a context symbol.
    #[inline(always)]
    pub(super) fn bucket(&self, ctx: u8) -> usize {
        usize::from(self.bucket_of[usize::from(ctx)])
    }

    /// The unsigned offset symbol `s` adds to the prediction modulo 2^bpc (§2.3).
    #[inline(always)]
    pub(super) fn offset(&self, s: u8) -> u32 {
        let s = u32::from(s);
        if s & 1 == 0 {
            s >> 1
        } else {
            self.max - (s >> 1)
        }
    }
}

/// One bucket: accumulated code lengths per parameter and the current best parameter.
#[derive(Clone, Copy)]
pub(super) struct Bucket {
    counters: [u32; 8],
    /// l*, the parameter to decode with.
    pub best: u8,
}

impl Bucket {
    /// Records symbol `n` (§2.6): add its code length under every l, pick the cheapest l
    /// (ties to the larger), and halve all counters once the cheapest exceeds `trigger`
    /// so the model keeps adapting.
    #[inline(always)]
    pub(super) fn update(&mut self, t: &CodeTable, n: u8, trigger: u32) {
        let bpc = t.bpc;
        let lam = &t.lambda[usize::from(n)];
        let counters = &mut self.counters[..bpc];
        for (c, &len) in counters.iter_mut().zip(lam) {
            *c += u32::from(len);
        }
        let mut best = bpc - 1;
        let mut min = counters[best];
        for l in (0..bpc - 1).rev() {
            if counters[l] < min {
                min = counters[l];
                best = l;
            }
        }
        self.best = best as u8;
        if min > trigger {
            for c in counters.iter_mut() {
                *c >>= 1;
            }
        }
    }
}

/// A channel's model (one bucket per context class) and its context row.
pub(super) struct Channel {
    /// Buckets 0 … bpc − 1 (the rest unused for 5-bit channels).
    pub buckets: [Bucket; 8],
    /// The context row K[−1 … w−1] of symbols, stored at indices 0 … w (§2.8).
    pub ctx: Vec<u8>,
}

impl Channel {
    /// A fresh channel for an image `width` pixels wide: zero counters, l* = bpc − 1.
    pub(super) fn new(width: usize, bpc: u8) -> Self {
        Channel {
            buckets: [Bucket {
                counters: [0; 8],
                best: bpc - 1,
            }; 8],
            ctx: vec![0; width + 1],
        }
    }
}

/// The pseudo-random table of Appendix A; only the low 6 bits are ever used (the wait
/// masks are at most 63). Kept verbatim so it can be checked against the spec's SHA-256.
#[rustfmt::skip]
pub(super) static TABLE: [u32; 256] = [
    0x02C5_7542, 0x3542_7717, 0x2F5A_2153, 0x9244_F155, 0x7BD2_6D07, 0x354C_6052,
    0x5732_9B28, 0x2993_868E, 0x6CD8_808C, 0x147B_46E0, 0x99DB_66AF, 0xE32B_4CAC,
    0x1B67_1264, 0x9D43_3486, 0x62A4_C192, 0x0608_9A4B, 0x9E3D_CE44, 0xDAAB_EE13,
    0x2224_25EA, 0xA46F_331D, 0xCD58_9250, 0x8BB8_1D7F, 0xC8B7_36B9, 0x3594_8D33,
    0xD7AC_7FD0, 0x5FBE_2803, 0x2CFB_C105, 0x013D_BC4E, 0x7A37_820F, 0x39F8_8E9E,
    0xEDD5_8794, 0xC507_6689, 0xFCAD_A5A4, 0x64C2_F46D, 0xB3BA_3243, 0x8974_B4F9,
    0x5A05_AEBD, 0x20AF_CD00, 0x39E2_B008, 0x88A1_8A45, 0x600B_DE29, 0xF397_1ACE,
    0xF37B_0A6B, 0x7041_495B, 0x70B7_07AB, 0x06BE_FFBB, 0x4206_051F, 0xE13C_4EE3,
    0xC1A7_8327, 0x91AA_067C, 0x8295_F72A, 0x7329_17A6, 0x1D87_1B4D, 0x4048_F136,
    0xF184_0E7E, 0x6A60_48C1, 0x696C_B71A, 0x7FF5_01C3, 0x0FC6_310B, 0x57E0_F83D,
    0x8CC2_6E74, 0x11A5_25A2, 0x9469_34C7, 0x7CD8_88F0, 0x8F9D_8604, 0x4F86_E73B,
    0x0452_0316, 0xDEEE_A20C, 0xF1DE_F496, 0x6768_7288, 0xF540_C5B2, 0x2240_1484,
    0x3478_658A, 0xC238_5746, 0x0197_9C2C, 0x5DAD_73C8, 0x0321_F58B, 0xF0FE_DBEE,
    0x9282_6DDF, 0x284B_EC73, 0x5B1A_1975, 0x03DF_1E11, 0x2096_3E01, 0xA17C_F12B,
    0x740D_776E, 0xA7A6_BF3C, 0x01B5_CCE4, 0x1118_AA76, 0xFC6F_AC0A, 0xCE92_7E9B,
    0x00BF_2567, 0x806F_216C, 0xBCA6_9056, 0x795B_D3E9, 0xC9DC_4557, 0x8929_B6C2,
    0x789D_52EC, 0x3F3F_BF40, 0xB919_7368, 0xA38C_15B5, 0xC3B4_4FA8, 0xCA83_33B0,
    0xB7E8_D590, 0xBE80_7FEB, 0xBF5F_8360, 0xD99E_2F5C, 0x3729_28E1, 0x7C75_7C4C,
    0x0DB5_B154, 0xC01E_DE02, 0x1FC8_6E78, 0x1F39_85BE, 0xB480_5C77, 0x00C8_80FA,
    0x974C_1B12, 0x35AB_0214, 0xB2DC_840D, 0x5B00_AE37, 0xD313_B026, 0xB260_969D,
    0x7F4C_8879, 0x1734_C4D3, 0x4906_8631, 0xB9F6_A021, 0x6B86_3E6F, 0xCEE5_DEBF,
    0x29F8_C9FB, 0x53DD_6880, 0x72B6_1223, 0x1F67_A9FD, 0x0A0F_6993, 0x13E5_9119,
    0x11CC_A12E, 0xFE6B_6766, 0x16B6_EFFC, 0x9791_8FC4, 0xC2B8_A563, 0x94F2_F741,
    0x0BFA_8C9A, 0xD153_7AE8, 0xC1DA_349C, 0x873C_60CA, 0x9500_5B85, 0x9B5C_080E,
    0xBC8A_BBD9, 0xE1EA_B1D2, 0x6DAC_9070, 0x4EA9_EBF1, 0xE0CF_30D4, 0x1EF5_BD7B,
    0xD161_043E, 0x5D2F_A2E2, 0xFF5D_3CAE, 0x86ED_9F87, 0x2AA1_DAA1, 0xBD73_1A34,
    0x9E8F_4B22, 0xB1C2_C67A, 0xC217_58C9, 0xA182_215D, 0xCCB0_1948, 0x8D16_8DF7,
    0x0423_8CFE, 0x368C_3DBC, 0x0AEA_DCA5, 0xBAD2_1C24, 0x0A71_FEE5, 0x9FC5_D872,
    0x54C1_52C6, 0xFC32_9483, 0x6783_384A, 0xEDDB_3E1C, 0x65F9_0E30, 0x884A_D098,
    0xCE81_675A, 0x4B37_2F7D, 0x68BF_9A39, 0x4344_5F1E, 0x40F8_D8CB, 0x90D5_ACB6,
    0x4CD0_7282, 0x349E_EB06, 0x0C9D_5332, 0x520B_24EF, 0x8002_0447, 0x6797_6491,
    0x2F93_1CA3, 0xFE9B_0535, 0xFCD3_0220, 0x61A9_E6CC, 0xA487_D8D7, 0x3F7C_5DD1,
    0x7D01_27C5, 0x48F5_1D15, 0x60DE_A871, 0xC9A9_1CB7, 0x58B5_3BB3, 0x9D5E_0B2D,
    0x624A_78B4, 0x30DB_EE1B, 0x9BDF_22E7, 0x1DF5_C299, 0x2D56_43A7, 0xF4DD_35FF,
    0x03CA_8FD6, 0x53B4_7ED8, 0x6F2C_19AA, 0xFEB0_C1F4, 0x49E5_4438, 0x2F25_77E6,
    0xBF87_6969, 0x7244_0EA9, 0xFA0B_AFB8, 0x74F5_B3A0, 0x7DD3_57CD, 0x89CE_1358,
    0x6EF2_CDDA, 0x1E77_67F3, 0xA6BE_9FDB, 0x4F5F_88F8, 0xBA99_4A3A, 0x08CA_6B65,
    0xE089_3818, 0x9E00_A16A, 0xF42B_FC8F, 0x9972_EEDC, 0x749C_8B51, 0x32C0_5F5E,
    0xD706_805F, 0x6BFB_B7CF, 0xD921_0A10, 0x31A1_DB97, 0x923A_9559, 0x37A7_A1F6,
    0x059F_8861, 0xCA49_3E62, 0x6515_7E81, 0x8F64_67DD, 0xAB85_FF9F, 0x9331_AFF2,
    0x8616_B9F5, 0xEDBD_5695, 0xEE7E_29B1, 0x313A_C44F, 0xB903_112F, 0x432E_F649,
    0xDC0A_36C0, 0x61CF_2BBA, 0x8147_4925, 0xA8B6_C7AD, 0xEE59_31DE, 0xB2F8_158D,
    0x59FB_7409, 0x2E3D_FAED, 0x9AF2_5A3F, 0xE1FE_D4D5,];
