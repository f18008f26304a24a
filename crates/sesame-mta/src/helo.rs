//! HELO names per source address: `<a-b-c-d>.smtp-out.<service_domain>`.
//!
//! The same name is the `Received` `from` part and `delivery.reportingMTA`, and operators
//! publish it as the PTR of the address (forward-confirmed reverse DNS). For IPv6 the analogue
//! is the eight groups of the fully expanded address joined by `-`
//! (`2001-0db8-0000-0000-0000-0000-0000-0001.smtp-out.<sd>`, a 39-octet label), so every
//! address has exactly one name and the name gives the address back.

use std::net::IpAddr;

pub fn helo_name(ip: IpAddr, service_domain: &str) -> String {
    let label = match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}-{}-{}-{}", o[0], o[1], o[2], o[3])
        }
        IpAddr::V6(v6) => v6
            .segments()
            .iter()
            .map(|s| format!("{s:04x}"))
            .collect::<Vec<_>>()
            .join("-"),
    };
    format!("{label}.smtp-out.{}", service_domain.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helo_names_q73() {
        let cases = [
            (
                "127.0.2.5",
                "mail.example.net",
                "127-0-2-5.smtp-out.mail.example.net",
            ),
            (
                "192.0.2.10",
                "sesame.localhost.",
                "192-0-2-10.smtp-out.sesame.localhost",
            ),
            (
                "2001:db8::1",
                "sd.test",
                "2001-0db8-0000-0000-0000-0000-0000-0001.smtp-out.sd.test",
            ),
        ];
        for (ip, sd, want) in cases {
            assert_eq!(helo_name(ip.parse().unwrap(), sd), want);
        }
    }
}
