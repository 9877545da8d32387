use std::path::Path;

use super::*;

fn installed() -> Option<Dictionary> {
    Path::new(DEFAULT_PATH)
        .exists()
        .then(|| Dictionary::load(Path::new(DEFAULT_PATH)).unwrap())
}

#[test]
fn the_installed_dictionaries_know_the_mikrotik_attributes() {
    let Some(dictionary) = installed() else {
        eprintln!("skipped: no FreeRADIUS dictionary at {DEFAULT_PATH}");
        return;
    };
    // The stock tree defines thousands; a parse that stopped early would not.
    assert!(dictionary.len() > 5000, "{}", dictionary.len());
    let address_list = dictionary.lookup("mikrotik-address-list").unwrap();
    assert_eq!(address_list.name, "Mikrotik-Address-List");
    assert_eq!(address_list.kind, AttributeType::String);
    assert_eq!(address_list.number, Some(19));
    let vendor = address_list.vendor.as_ref().unwrap();
    assert_eq!((vendor.name.as_str(), vendor.id), ("Mikrotik", 14988));
    let rate_limit = dictionary.lookup("Mikrotik-Rate-Limit").unwrap();
    assert_eq!(rate_limit.number, Some(8));
    assert!(dictionary.lookup("Not-An-Attribute").is_none());
    let wispr = dictionary.lookup("WISPr-Bandwidth-Max-Down").unwrap();
    assert_eq!(wispr.kind, AttributeType::Integer);
    assert_eq!(wispr.vendor.as_ref().unwrap().id, 14122);
    let framed = dictionary.lookup("Framed-IP-Address").unwrap();
    assert_eq!(
        (framed.kind, framed.vendor.is_none()),
        (AttributeType::IpAddr, true)
    );
    assert_eq!(
        dictionary.lookup("Event-Timestamp").unwrap().kind,
        AttributeType::Date
    );
    // FreeRADIUS's internal check attributes and named values come through as well.
    assert_eq!(
        dictionary.lookup("Simultaneous-Use").unwrap().kind,
        AttributeType::Integer
    );
    let error_cause = dictionary.lookup("Error-Cause").unwrap();
    assert!(
        error_cause
            .values
            .iter()
            .any(|v| v == "Session-Context-Not-Found")
    );
}

#[test]
fn the_builtin_list_agrees_with_the_installed_dictionaries() {
    let Some(installed) = installed() else {
        eprintln!("skipped: no FreeRADIUS dictionary at {DEFAULT_PATH}");
        return;
    };
    let builtin = Dictionary::builtin();
    for def in builtin.attributes.values() {
        let real = installed.lookup(&def.name).unwrap();
        assert_eq!(real.name, def.name);
        assert_eq!(
            (real.number, real.kind),
            (def.number, def.kind),
            "{}",
            def.name
        );
        assert_eq!(real.vendor, def.vendor, "{}", def.name);
        for value in &def.values {
            assert!(real.values.contains(value), "{} {value}", def.name);
        }
    }
}

#[test]
fn the_builtin_list_covers_what_the_product_writes() {
    let dictionary = Dictionary::builtin();
    for name in [
        "Mikrotik-Rate-Limit",
        "Mikrotik-Address-List",
        "WISPr-Bandwidth-Max-Up",
        "WISPr-Bandwidth-Max-Down",
        "Framed-IP-Address",
        "Framed-Pool",
        "Session-Timeout",
        "Idle-Timeout",
        "Acct-Interim-Interval",
        "Filter-Id",
        "Class",
        "Reply-Message",
        "Cleartext-Password",
        "Simultaneous-Use",
    ] {
        assert!(dictionary.lookup(&name.to_uppercase()).is_some(), "{name}");
    }
    assert!(dictionary.lookup("Not-An-Attribute").is_none());
}

#[test]
fn values_are_checked_by_type_with_messages_for_people() {
    for dictionary in [Dictionary::builtin(), Dictionary::shared().clone()] {
        let check = |attribute: &str, value: &str| dictionary.check_value(attribute, value);
        assert_eq!(check("Session-Timeout", "3600"), Ok(()));
        assert_eq!(
            check("session-timeout", "1h"),
            Err("Session-Timeout needs a whole number.".into())
        );
        assert_eq!(
            check("Session-Timeout", "-1"),
            Err("Session-Timeout needs a whole number.".into())
        );
        assert_eq!(check("Service-Type", "framed-user"), Ok(()));
        assert_eq!(check("Service-Type", "2"), Ok(()));
        let message = check("Service-Type", "Framed-Users").unwrap_err();
        assert!(
            message.starts_with("Service-Type needs a whole number or one of "),
            "{message}"
        );
        assert_eq!(check("Framed-IP-Address", "100.64.0.10"), Ok(()));
        assert_eq!(
            check("Framed-IP-Address", "100.64.0.300"),
            Err("Framed-IP-Address needs an IPv4 address such as 100.64.0.10.".into())
        );
        assert_eq!(check("Mikrotik-Rate-Limit", "10M/20M"), Ok(()));
        assert_eq!(
            check("Mikrotik-Rate-Limit", &"9".repeat(254)),
            Err("Mikrotik-Rate-Limit is longer than 253 bytes.".into())
        );
        assert_eq!(
            check("Not-An-Attribute", "1"),
            Err("Not-An-Attribute is not a known RADIUS attribute.".into())
        );
    }
}

#[test]
fn includes_are_followed_relative_to_the_including_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("vendors")).unwrap();
    std::fs::write(
        dir.path().join("dictionary"),
        "# top\n$INCLUDE vendors/dictionary.acme\n$INCLUDE- dictionary.missing\n\
         ATTRIBUTE\tFramed-Pool\t88\tstring\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("vendors/dictionary.acme"),
        "VENDOR Acme 0x10\nBEGIN-VENDOR Acme\nATTRIBUTE Acme-Speed 1 integer # bit/s\n\
         VALUE Acme-Speed Fast 100\nATTRIBUTE Acme-Key 2 octets[16] encrypt=2\nEND-VENDOR Acme\n\
         ATTRIBUTE Acme-Old 3 ipaddr Acme\nATTRIBUTE Ext-Thing 241.1 string\n\
         $INCLUDE dictionary.loop\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("vendors/dictionary.loop"),
        "$INCLUDE dictionary.acme\n",
    )
    .unwrap();
    let dictionary = Dictionary::load(&dir.path().join("dictionary")).unwrap();
    let speed = dictionary.lookup("ACME-SPEED").unwrap();
    assert_eq!(speed.vendor.as_ref().unwrap().id, 16);
    assert_eq!(speed.values, vec!["Fast".to_owned()]);
    assert_eq!(dictionary.check_value("Acme-Speed", "fast"), Ok(()));
    assert_eq!(
        dictionary.lookup("Acme-Key").unwrap().kind,
        AttributeType::Octets
    );
    let old = dictionary.lookup("Acme-Old").unwrap();
    assert_eq!(
        (old.kind, old.vendor.as_ref().unwrap().id),
        (AttributeType::IpAddr, 16)
    );
    assert_eq!(dictionary.lookup("Ext-Thing").unwrap().number, None);
    assert!(dictionary.lookup("Framed-Pool").unwrap().vendor.is_none());
}

#[test]
fn a_missing_include_or_a_broken_line_is_reported_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("dictionary");
    std::fs::write(&top, "$INCLUDE dictionary.gone\n").unwrap();
    let error = Dictionary::load(&top).unwrap_err();
    assert!(error.to_string().contains("dictionary.gone"), "{error}");
    std::fs::write(&top, "\n\nATTRIBUTE Half 1\n").unwrap();
    let error = Dictionary::load(&top).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with(":3: ATTRIBUTE needs a name, number and type"),
        "{error}"
    );
    std::fs::write(&top, "BEGIN-VENDOR Nobody\n").unwrap();
    assert!(Dictionary::load(&top).is_err());
}
