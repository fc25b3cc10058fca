#include <catch2/catch.hpp>

#include "xml_check.hpp"

using strata::experiment::xml_error;

TEST_CASE("xml_error accepts well-formed documents", "[experiment][xml]") {
    CHECK(xml_error("<a/>").empty());
    CHECK(xml_error("<?xml version=\"1.0\"?>\n<!-- c -->\n<svg x='1' y=\"2\"><g><text>a &amp; b &#60; &#x3c;</text></g></svg>\n").empty());
    CHECK(xml_error("<a><![CDATA[ <not a tag> & ]]></a>").empty());
    CHECK(xml_error("<a b = \"1\" ><c/></a>").empty());
}

TEST_CASE("xml_error names the first well-formedness error", "[experiment][xml]") {
    CHECK_THAT(xml_error(""), Catch::Contains("no root element"));
    CHECK_THAT(xml_error("<a><b></a></b>"), Catch::Contains("end tag </a> does not match <b>"));
    CHECK_THAT(xml_error("<a><b>"), Catch::Contains("element <b> is not closed"));
    CHECK_THAT(xml_error("<a/><b/>"), Catch::Contains("a second root element <b>"));
    CHECK_THAT(xml_error("<a x=1/>"), Catch::Contains("unquoted value of 'x'"));
    CHECK_THAT(xml_error("<a x=\"1\" x=\"2\"/>"), Catch::Contains("duplicate attribute 'x'"));
    CHECK_THAT(xml_error("<a x=\"1\"y=\"2\"/>"), Catch::Contains("malformed attribute"));
    CHECK_THAT(xml_error("<a x/>"), Catch::Contains("attribute 'x' without a value"));
    CHECK_THAT(xml_error("<a>1 < 2</a>"), Catch::Contains("malformed start tag"));
    CHECK_THAT(xml_error("<a>fish & chips</a>"), Catch::Contains("unterminated entity"));
    CHECK_THAT(xml_error("<a>&nbsp;</a>"), Catch::Contains("unknown entity '&nbsp;'"));
    CHECK_THAT(xml_error("<a t=\"x<y\"/>"), Catch::Contains("'<' inside character data"));
    CHECK_THAT(xml_error("<a><!-- open </a>"), Catch::Contains("unterminated comment"));
    CHECK_THAT(xml_error("text<a/>"), Catch::Contains("text outside the root element at offset 0"));
    CHECK_THAT(xml_error("<svg><polyline points=\"1,2"), Catch::Contains("unterminated value of 'points'"));
    CHECK_THAT(xml_error("<!DOCTYPE svg><svg/>"), Catch::Contains("DTD"));
}
