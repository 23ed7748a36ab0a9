//! The JSON row writer: one query's keys built once per page, then each
//! row written straight from SQLite cells (the emulator's hot loop).

use super::*;

/// How to write rows of one query: the JSON key bytes are built once per
/// page, not per row (serialization is the emulator's hot loop).
pub(crate) struct RowPlan<'a> {
    t: &'a Table,
    sel: &'a [usize],
    ann: Annotations,
    /// Per selected column: `,"name":` (lookups: `,"_name_value":`).
    keys: Vec<Vec<u8>>,
    /// Per selected lookup column: (`,"_x_value@...lookuplogicalname":`, `,"_x_value@...associatednavigationproperty":`).
    ann_keys: Vec<(Vec<u8>, Vec<u8>)>,
    /// Per selected column: `,"<key>@OData.Community.Display.V1.FormattedValue":`.
    fmt_keys: Vec<Vec<u8>>,
    key_key: Vec<u8>,
}

pub(crate) fn json_key(name: &str) -> Vec<u8> {
    let mut k = vec![b','];
    write_json_str(&mut k, name);
    k.push(b':');
    k
}

impl<'a> RowPlan<'a> {
    pub(crate) fn new(t: &'a Table, sel: &'a [usize], ann: Annotations) -> RowPlan<'a> {
        let mut keys = Vec::with_capacity(sel.len());
        let mut ann_keys = Vec::with_capacity(sel.len());
        let mut fmt_keys = Vec::with_capacity(sel.len());
        for &ci in sel {
            let c = &t.columns[ci];
            let name = if c.ty.is_lookup() {
                format!("_{}_value", c.name)
            } else {
                c.name.clone()
            };
            keys.push(json_key(&name));
            fmt_keys.push(json_key(&format!(
                "{name}@OData.Community.Display.V1.FormattedValue"
            )));
            if c.ty.is_lookup() {
                ann_keys.push((
                    json_key(&format!("{name}@Microsoft.Dynamics.CRM.lookuplogicalname")),
                    json_key(&format!(
                        "{name}@Microsoft.Dynamics.CRM.associatednavigationproperty"
                    )),
                ));
            } else {
                ann_keys.push((vec![], vec![]));
            }
        }
        RowPlan {
            t,
            sel,
            ann,
            keys,
            ann_keys,
            fmt_keys,
            key_key: json_key(&t.primary_id),
        }
    }
}

/// Writes one row object in Web API read shape.
pub(crate) fn write_row(
    buf: &mut Vec<u8>,
    plan: &RowPlan<'_>,
    row: &rusqlite::Row<'_>,
    context: Option<&str>,
) -> Result<(), rusqlite::Error> {
    let t = plan.t;
    buf.push(b'{');
    if let Some(c) = context {
        buf.extend_from_slice(b"\"@odata.context\":");
        write_json_str(buf, c);
        buf.push(b',');
    }
    let version: i64 = row.get(1)?;
    buf.extend_from_slice(b"\"@odata.etag\":\"W/\\\"");
    write_i64(buf, version);
    buf.extend_from_slice(b"\\\"\"");
    let mut idx = 2;
    for (k, &ci) in plan.sel.iter().enumerate() {
        let c = &t.columns[ci];
        buf.extend_from_slice(&plan.keys[k]);
        if c.ty.is_lookup() {
            let v = row.get_ref(idx)?;
            write_json_value(buf, AttrType::Uniqueidentifier, v);
            let present = !matches!(v, ValueRef::Null);
            if plan.ann.formatted && present {
                if let ValueRef::Text(name) = row.get_ref(idx + 2)? {
                    buf.extend_from_slice(&plan.fmt_keys[k]);
                    crate::store::write_json_bytes(buf, name);
                }
            }
            if plan.ann.lookup && present {
                if let ValueRef::Text(ty) = row.get_ref(idx + 1)? {
                    let ty = String::from_utf8_lossy(ty);
                    buf.extend_from_slice(&plan.ann_keys[k].1);
                    if let Some(tg) = c.targets.iter().find(|tg| tg.entity == ty) {
                        write_json_str(buf, &tg.navigation);
                    } else {
                        buf.extend_from_slice(b"null");
                    }
                    buf.extend_from_slice(&plan.ann_keys[k].0);
                    write_json_str(buf, &ty);
                }
            }
            idx += if plan.ann.formatted { 3 } else { 2 };
        } else {
            let v = row.get_ref(idx)?;
            write_json_value(buf, c.ty, v);
            if plan.ann.formatted && c.ty == AttrType::State {
                if let ValueRef::Integer(s) = v {
                    buf.extend_from_slice(&plan.fmt_keys[k]);
                    // The labels of the sample tables' statecode options.
                    write_json_str(
                        buf,
                        match s {
                            0 => "Active",
                            1 => "Inactive",
                            _ => "Other",
                        },
                    );
                }
            }
            idx += 1;
        }
    }
    buf.extend_from_slice(&plan.key_key);
    write_json_value(buf, AttrType::Uniqueidentifier, row.get_ref(0)?);
    buf.push(b'}');
    Ok(())
}
