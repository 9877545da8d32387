use super::*;

fn pairs(query: &[(&str, &str)]) -> QueryPairs {
    QueryPairs(
        query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

/// What one value of `page` or `per_page` becomes: the number applied, or the 400's detail.
fn judged(name: &str, value: Option<&str>) -> Result<i32, String> {
    let query = match value {
        Some(value) => pairs(&[(name, value)]),
        None => pairs(&[]),
    };
    match query.page() {
        Ok(page) if name == "page" => Ok(page.page),
        Ok(page) => Ok(page.per_page),
        Err(error) => {
            assert_eq!(error.status.as_u16(), 400);
            assert_eq!(error.body.code, "BAD_REQUEST");
            assert_eq!(error.body.message, "Invalid request");
            Err(error.body.error.unwrap())
        }
    }
}

#[test]
fn every_odd_paging_input_has_the_contracts_answer() {
    let bad = |name: &str| Err(format!("The {name} parameter must be a positive integer."));
    for (input, page, per_page) in [
        (None, Ok(1), Ok(25)),
        (Some(""), Ok(1), Ok(25)),
        (Some("  "), Ok(1), Ok(25)),
        (Some("0"), bad("page"), bad("per_page")),
        (Some("-1"), bad("page"), bad("per_page")),
        (Some("+2"), bad("page"), bad("per_page")),
        (Some("1.5"), bad("page"), bad("per_page")),
        (Some("1e3"), bad("page"), bad("per_page")),
        (Some("abc"), bad("page"), bad("per_page")),
        (Some("2"), Ok(2), Ok(2)),
        (Some("100"), Ok(100), Ok(100)),
        (Some("101"), Ok(101), Ok(100)),
        (Some("3000000000"), Ok(i32::MAX), Ok(100)),
        (Some("9223372036854775807"), Ok(i32::MAX), Ok(100)),
        (Some("9223372036854775808"), bad("page"), bad("per_page")),
        (Some("99999999999999999999"), bad("page"), bad("per_page")),
    ] {
        assert_eq!(judged("page", input), page, "page={input:?}");
        assert_eq!(judged("per_page", input), per_page, "per_page={input:?}");
    }
}

#[test]
fn the_last_repeat_wins_and_unknown_parameters_are_ignored() {
    let query = pairs(&[("page", "x"), ("page", "3"), ("colour", "blue")]);
    assert_eq!(query.page().unwrap().page, 3);
    assert_eq!(query.text("colour"), "blue");
    assert_eq!(query.text("search"), "");
}

#[test]
fn an_id_filter_is_a_positive_64_bit_integer_or_a_400() {
    assert_eq!(
        pairs(&[("partner_id", "9")]).id("partner_id").unwrap(),
        Some(9)
    );
    assert_eq!(pairs(&[("partner_id", "")]).id("partner_id").unwrap(), None);
    for bad in ["0", "x", "-4", "+4", "99999999999999999999"] {
        let error = pairs(&[("partner_id", bad)]).id("partner_id").unwrap_err();
        assert_eq!(error.status.as_u16(), 400, "{bad}");
        assert_eq!(
            error.body.error.as_deref(),
            Some("The partner_id parameter must be a positive integer.")
        );
    }
}

#[test]
fn a_path_id_is_a_positive_64_bit_integer() {
    assert_eq!(path_id("42"), Some(42));
    assert_eq!(path_id("9223372036854775807"), Some(i64::MAX));
    for bad in [
        "",
        "0",
        "-1",
        "+1",
        "1.0",
        "abc",
        "9223372036854775808",
        " 1",
    ] {
        assert_eq!(path_id(bad), None, "{bad}");
    }
}

#[test]
fn a_known_parameter_given_twice_is_a_400_naming_it() {
    let query = QueryPairs(vec![
        ("page".to_owned(), "2".to_owned()),
        ("search".to_owned(), "a".to_owned()),
        ("page".to_owned(), String::new()),
        ("other".to_owned(), "1".to_owned()),
        ("other".to_owned(), "2".to_owned()),
    ]);
    assert!(query.once(["search", "per_page"]).is_ok());
    let error = query.once(["search", "page"]).unwrap_err();
    assert_eq!(error.status.as_u16(), 400);
    assert_eq!(
        error.body.error.as_deref(),
        Some("The page parameter must be given at most once.")
    );
}

#[test]
fn a_query_integer_may_carry_a_fraction_of_zeros() {
    assert_eq!(whole_number("7"), Some(7));
    assert_eq!(whole_number("1.0"), Some(1));
    assert_eq!(whole_number("30.000"), Some(30));
    assert_eq!(whole_number("-5"), Some(-5));
    for bad in [
        "",
        "1.5",
        "1.",
        ".0",
        "+1",
        "1e3",
        " 1",
        "abc",
        "9223372036854775808",
    ] {
        assert_eq!(whole_number(bad), None, "{bad}");
    }
}
