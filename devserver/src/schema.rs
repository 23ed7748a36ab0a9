//! The tables the emulator serves: loaded from a JSON schema file or the
//! built-in sample: systemusers and a dozen sales and service tables
//! (accounts, contacts, opportunities, tasks, leads, incidents, phonecalls,
//! appointments, products, quotes, salesorders, competitors).
//! The schema decides SQL storage, JSON shapes, write validation and the
//! `EntityDefinitions` metadata.

use serde::Deserialize;

use crate::Error;

/// Dataverse `AttributeType` values the emulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AttrType {
    String,
    Memo,
    Integer,
    BigInt,
    Decimal,
    Double,
    Money,
    Boolean,
    DateTime,
    Uniqueidentifier,
    Lookup,
    Customer,
    Owner,
    State,
    Status,
    Picklist,
    /// A multi-select choice ("choices"): `AttributeType` `Virtual`, its
    /// value `"1,3"` on the wire.
    MultiSelectPicklist,
}

impl AttrType {
    pub const ALL: [AttrType; 17] = [
        AttrType::String,
        AttrType::Memo,
        AttrType::Integer,
        AttrType::BigInt,
        AttrType::Decimal,
        AttrType::Double,
        AttrType::Money,
        AttrType::Boolean,
        AttrType::DateTime,
        AttrType::Uniqueidentifier,
        AttrType::Lookup,
        AttrType::Customer,
        AttrType::Owner,
        AttrType::State,
        AttrType::Status,
        AttrType::Picklist,
        AttrType::MultiSelectPicklist,
    ];

    pub fn is_lookup(self) -> bool {
        matches!(
            self,
            AttrType::Lookup | AttrType::Customer | AttrType::Owner
        )
    }
    pub fn is_text(self) -> bool {
        matches!(self, AttrType::String | AttrType::Memo)
    }
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            AttrType::Integer
                | AttrType::BigInt
                | AttrType::State
                | AttrType::Status
                | AttrType::Picklist
        )
    }
    pub fn is_float(self) -> bool {
        matches!(self, AttrType::Decimal | AttrType::Double | AttrType::Money)
    }
    /// `AttributeType` as Dataverse writes it.
    pub fn attribute_type(self) -> String {
        match self {
            AttrType::MultiSelectPicklist => "Virtual".into(),
            other => format!("{other:?}"),
        }
    }
    pub fn has_options(self) -> bool {
        matches!(
            self,
            AttrType::State | AttrType::Status | AttrType::Picklist | AttrType::MultiSelectPicklist
        )
    }
    /// The name Dataverse uses in `AttributeTypeName`.
    pub fn type_name(self) -> &'static str {
        match self {
            AttrType::String => "StringType",
            AttrType::Memo => "MemoType",
            AttrType::Integer => "IntegerType",
            AttrType::BigInt => "BigIntType",
            AttrType::Decimal => "DecimalType",
            AttrType::Double => "DoubleType",
            AttrType::Money => "MoneyType",
            AttrType::Boolean => "BooleanType",
            AttrType::DateTime => "DateTimeType",
            AttrType::Uniqueidentifier => "UniqueidentifierType",
            AttrType::Lookup => "LookupType",
            AttrType::Customer => "CustomerType",
            AttrType::Owner => "OwnerType",
            AttrType::State => "StateType",
            AttrType::Status => "StatusType",
            AttrType::Picklist => "PicklistType",
            AttrType::MultiSelectPicklist => "MultiSelectPicklistType",
        }
    }
    /// The `@odata.type` of the attribute's metadata object.
    pub fn metadata_type(self) -> &'static str {
        match self {
            AttrType::String => "#Microsoft.Dynamics.CRM.StringAttributeMetadata",
            AttrType::Memo => "#Microsoft.Dynamics.CRM.MemoAttributeMetadata",
            AttrType::Integer => "#Microsoft.Dynamics.CRM.IntegerAttributeMetadata",
            AttrType::BigInt => "#Microsoft.Dynamics.CRM.BigIntAttributeMetadata",
            AttrType::Decimal => "#Microsoft.Dynamics.CRM.DecimalAttributeMetadata",
            AttrType::Double => "#Microsoft.Dynamics.CRM.DoubleAttributeMetadata",
            AttrType::Money => "#Microsoft.Dynamics.CRM.MoneyAttributeMetadata",
            AttrType::Boolean => "#Microsoft.Dynamics.CRM.BooleanAttributeMetadata",
            AttrType::DateTime => "#Microsoft.Dynamics.CRM.DateTimeAttributeMetadata",
            AttrType::Uniqueidentifier => {
                "#Microsoft.Dynamics.CRM.UniqueIdentifierAttributeMetadata"
            }
            AttrType::Lookup | AttrType::Customer | AttrType::Owner => {
                "#Microsoft.Dynamics.CRM.LookupAttributeMetadata"
            }
            AttrType::State => "#Microsoft.Dynamics.CRM.StateAttributeMetadata",
            AttrType::Status => "#Microsoft.Dynamics.CRM.StatusAttributeMetadata",
            AttrType::Picklist => "#Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
            AttrType::MultiSelectPicklist => {
                "#Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata"
            }
        }
    }
    /// The OData primitive type, for error messages.
    pub fn edm(self) -> &'static str {
        match self {
            AttrType::String | AttrType::Memo | AttrType::MultiSelectPicklist => "Edm.String",
            AttrType::Integer | AttrType::State | AttrType::Status | AttrType::Picklist => {
                "Edm.Int32"
            }
            AttrType::BigInt => "Edm.Int64",
            AttrType::Decimal | AttrType::Money => "Edm.Decimal",
            AttrType::Double => "Edm.Double",
            AttrType::Boolean => "Edm.Boolean",
            AttrType::DateTime => "Edm.DateTimeOffset",
            AttrType::Uniqueidentifier
            | AttrType::Lookup
            | AttrType::Customer
            | AttrType::Owner => "Edm.Guid",
        }
    }
}

/// One target of a lookup and the single-valued navigation property that
/// writes it (`parentcustomerid_account`).
#[derive(Debug, Clone, Deserialize)]
pub struct LookupTarget {
    pub entity: String,
    pub navigation: String,
    /// Relationship schema name, for `ManyToOneRelationships`.
    #[serde(default)]
    pub relationship: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: AttrType,
    #[serde(default)]
    pub max_length: Option<u32>,
    #[serde(default)]
    pub targets: Vec<LookupTarget>,
    /// Set by the server only (createdon, modifiedon, versionnumber).
    #[serde(default)]
    pub read_only: bool,
    /// The column's display name (`Account Name`), served as the
    /// attribute's `DisplayName` label (language 1033); none: no label.
    #[serde(default)]
    pub display: Option<String>,
    /// DateTime columns: `"DateOnly"` stores and serves `2024-05-01`
    /// (Dataverse's DateOnly behavior); otherwise UserLocal instants.
    #[serde(default)]
    pub behavior: Option<String>,
    /// Choice columns: `[value, label]` pairs (English). State and Status
    /// columns without any get Active/Inactive.
    #[serde(default)]
    pub options: Vec<(i64, String)>,
}

impl Column {
    pub fn date_only(&self) -> bool {
        self.ty == AttrType::DateTime && self.behavior.as_deref() == Some("DateOnly")
    }

    /// The options served in metadata.
    pub fn option_list(&self) -> Vec<(i64, String)> {
        if !self.options.is_empty() {
            return self.options.clone();
        }
        let pair = |a: i64, b: i64| vec![(a, "Active".to_string()), (b, "Inactive".to_string())];
        match self.ty {
            AttrType::State => pair(0, 1),
            AttrType::Status => pair(1, 2),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Table {
    pub logical_name: String,
    pub entity_set: String,
    pub primary_id: String,
    #[serde(default)]
    pub primary_name: Option<String>,
    pub columns: Vec<Column>,
    /// Filled in by `Schema::finish`: SQL table name.
    #[serde(skip)]
    pub sql_name: String,
    #[serde(skip)]
    pub object_type_code: u32,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    /// `_parentcustomerid_value` -> the lookup column.
    pub fn lookup_by_value_name(&self, name: &str) -> Option<&Column> {
        let inner = name.strip_prefix('_')?.strip_suffix("_value")?;
        self.column(inner).filter(|c| c.ty.is_lookup())
    }
    /// The navigation property (`parentcustomerid_account`) -> (column, target).
    pub fn navigation(&self, nav: &str) -> Option<(&Column, &LookupTarget)> {
        self.columns
            .iter()
            .filter(|c| c.ty.is_lookup())
            .find_map(|c| {
                c.targets
                    .iter()
                    .find(|t| t.navigation == nav)
                    .map(|t| (c, t))
            })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Schema {
    pub tables: Vec<Table>,
}

impl Schema {
    pub fn load(path: Option<&std::path::Path>) -> Result<Schema, Error> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| Error::Config(format!("cannot read schema {}: {e}", p.display())))?,
            None => SAMPLE_SCHEMA.to_string(),
        };
        let mut schema: Schema = serde_json::from_str(&text)
            .map_err(|e| Error::Config(format!("invalid schema: {e}")))?;
        schema.finish()?;
        Ok(schema)
    }

    pub fn by_set(&self, set: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.entity_set == set)
    }
    pub fn by_logical(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.logical_name == name)
    }

    /// Adds the columns every table has, checks names, assigns SQL names.
    fn finish(&mut self) -> Result<(), Error> {
        if self.by_logical("systemuser").is_none() {
            let mut users: Table = serde_json::from_str(SYSTEMUSER_TABLE)
                .map_err(|e| Error::Config(format!("built-in systemuser table: {e}")))?;
            users.sql_name.clear();
            self.tables.insert(0, users);
        }
        let names: Vec<String> = self.tables.iter().map(|t| t.logical_name.clone()).collect();
        for (i, t) in self.tables.iter_mut().enumerate() {
            for n in [&t.logical_name, &t.entity_set, &t.primary_id] {
                if !is_ident(n) {
                    return Err(Error::Config(format!("invalid name {n:?} in schema")));
                }
            }
            for (col, ty, label) in [
                ("createdon", AttrType::DateTime, "Created On"),
                ("modifiedon", AttrType::DateTime, "Modified On"),
            ] {
                if t.column(col).is_none() {
                    t.columns.push(Column {
                        name: col.into(),
                        ty,
                        max_length: None,
                        targets: vec![],
                        read_only: true,
                        display: Some(label.into()),
                        behavior: None,
                        options: Vec::new(),
                    });
                }
            }
            if t.column("versionnumber").is_none() {
                t.columns.push(Column {
                    name: "versionnumber".into(),
                    ty: AttrType::BigInt,
                    max_length: None,
                    targets: vec![],
                    read_only: true,
                    display: Some("Version Number".into()),
                    behavior: None,
                    options: Vec::new(),
                });
            }
            for c in t.columns.iter_mut() {
                if matches!(
                    c.name.as_str(),
                    "createdon" | "modifiedon" | "versionnumber"
                ) {
                    c.read_only = true;
                }
                if !is_ident(&c.name) || c.name == t.primary_id || c.name.starts_with('_') {
                    return Err(Error::Config(format!(
                        "invalid column name {:?} in {}",
                        c.name, t.logical_name
                    )));
                }
                if c.ty.is_lookup() {
                    if c.targets.is_empty() {
                        return Err(Error::Config(format!(
                            "lookup {}.{} has no targets",
                            t.logical_name, c.name
                        )));
                    }
                    for target in &c.targets {
                        if !names.contains(&target.entity) || !is_ident(&target.navigation) {
                            return Err(Error::Config(format!(
                                "lookup {}.{}: unknown target {:?}",
                                t.logical_name, c.name, target.entity
                            )));
                        }
                    }
                }
            }
            t.sql_name = format!("t_{}", t.entity_set);
            t.object_type_code = match t.logical_name.as_str() {
                "account" => 1,
                "contact" => 2,
                "opportunity" => 3,
                "systemuser" => 8,
                "task" => 4212,
                _ => 10000 + i as u32,
            };
        }
        Ok(())
    }
}

pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

const SYSTEMUSER_TABLE: &str = r#"{
  "logical_name": "systemuser", "entity_set": "systemusers", "primary_id": "systemuserid",
  "primary_name": "fullname",
  "columns": [
    {"name": "fullname", "type": "String", "max_length": 200},
    {"name": "domainname", "type": "String", "max_length": 1024},
    {"name": "internalemailaddress", "type": "String", "max_length": 100}
  ]
}"#;

/// The built-in sample schema (issue 2). Navigation property and relationship
/// names are the ones Dataverse uses for these lookups.
pub const SAMPLE_SCHEMA: &str = r#"{
  "tables": [
    {"logical_name": "systemuser", "entity_set": "systemusers", "primary_id": "systemuserid",
     "primary_name": "fullname",
     "columns": [
       {"name": "fullname", "type": "String", "max_length": 200},
       {"name": "domainname", "type": "String", "max_length": 1024},
       {"name": "internalemailaddress", "type": "String", "max_length": 100}
     ]},
    {"logical_name": "account", "entity_set": "accounts", "primary_id": "accountid", "primary_name": "name",
     "columns": [
       {"name": "name", "display": "Account Name", "type": "String", "max_length": 160},
       {"name": "accountnumber", "display": "Account Number", "type": "String", "max_length": 20},
       {"name": "telephone1", "display": "Main Phone", "type": "String", "max_length": 50},
       {"name": "address1_city", "display": "Address 1: City", "type": "String", "max_length": 80},
       {"name": "revenue", "display": "Annual Revenue", "type": "Money"},
       {"name": "numberofemployees", "display": "Number of Employees", "type": "Integer"},
       {"name": "statecode", "display": "Status", "type": "State"},
       {"name": "ownerid", "display": "Owner", "type": "Owner", "targets": [
         {"entity": "systemuser", "navigation": "ownerid", "relationship": "user_accounts"}]}
     ]},
    {"logical_name": "contact", "entity_set": "contacts", "primary_id": "contactid", "primary_name": "lastname",
     "columns": [
       {"name": "firstname", "display": "First Name", "type": "String", "max_length": 50},
       {"name": "lastname", "display": "Last Name", "type": "String", "max_length": 50},
       {"name": "emailaddress1", "display": "Email", "type": "String", "max_length": 100},
       {"name": "parentcustomerid", "display": "Company Name", "type": "Customer", "targets": [
         {"entity": "account", "navigation": "parentcustomerid_account", "relationship": "contact_customer_accounts"},
         {"entity": "contact", "navigation": "parentcustomerid_contact", "relationship": "contact_customer_contacts"}]},
       {"name": "ownerid", "display": "Owner", "type": "Owner", "targets": [
         {"entity": "systemuser", "navigation": "ownerid", "relationship": "user_contacts"}]}
     ]},
    {"logical_name": "opportunity", "entity_set": "opportunities", "primary_id": "opportunityid", "primary_name": "name",
     "columns": [
       {"name": "name", "type": "String", "max_length": 300},
       {"name": "estimatedvalue", "type": "Money"},
       {"name": "parentaccountid", "type": "Lookup", "targets": [
         {"entity": "account", "navigation": "parentaccountid", "relationship": "opportunity_parent_account"}]},
       {"name": "ownerid", "type": "Owner", "targets": [
         {"entity": "systemuser", "navigation": "ownerid", "relationship": "user_opportunity"}]}
     ]},
    {"logical_name": "task", "entity_set": "tasks", "primary_id": "activityid", "primary_name": "subject",
     "columns": [
       {"name": "subject", "type": "String", "max_length": 200},
       {"name": "scheduledend", "type": "DateTime"},
       {"name": "regardingobjectid", "type": "Lookup", "targets": [
         {"entity": "contact", "navigation": "regardingobjectid_contact_task", "relationship": "Contact_Tasks"}]},
       {"name": "ownerid", "type": "Owner", "targets": [
         {"entity": "systemuser", "navigation": "ownerid", "relationship": "user_task"}]}
     ]},
    {"logical_name": "lead", "entity_set": "leads", "primary_id": "leadid", "primary_name": "subject",
     "columns": [
       {"name": "subject", "type": "String", "max_length": 300},
       {"name": "firstname", "type": "String", "max_length": 50},
       {"name": "lastname", "type": "String", "max_length": 50},
       {"name": "companyname", "type": "String", "max_length": 100},
       {"name": "emailaddress1", "type": "String", "max_length": 100},
       {"name": "telephone1", "type": "String", "max_length": 50},
       {"name": "estimatedamount", "type": "Money"},
       {"name": "leadqualitycode", "type": "Picklist", "options": [[1, "Hot"], [2, "Warm"], [3, "Cold"]]},
       {"name": "statecode", "type": "State"},
       {"name": "ownerid", "type": "Owner", "targets": [
         {"entity": "systemuser", "navigation": "ownerid", "relationship": "user_leads"}]}
     ]},
    {"logical_name": "incident", "entity_set": "incidents", "primary_id": "incidentid", "primary_name": "title",
     "columns": [
       {"name": "title", "type": "String", "max_length": 200},
       {"name": "ticketnumber", "type": "String", "max_length": 100},
       {"name": "description", "type": "Memo", "max_length": 2000},
       {"name": "prioritycode", "type": "Picklist"},
       {"name": "statecode", "type": "State"},
       {"name": "customerid", "type": "Customer", "targets": [
         {"entity": "account", "navigation": "customerid_account", "relationship": "incident_customer_accounts"},
         {"entity": "contact", "navigation": "customerid_contact", "relationship": "incident_customer_contacts"}]},
       {"name": "ownerid", "type": "Owner", "targets": [
         {"entity": "systemuser", "navigation": "ownerid", "relationship": "user_incidents"}]}
     ]},
    {"logical_name": "phonecall", "entity_set": "phonecalls", "primary_id": "activityid", "primary_name": "subject",
     "columns": [
       {"name": "subject", "type": "String", "max_length": 200},
       {"name": "phonenumber", "type": "String", "max_length": 200},
       {"name": "directioncode", "type": "Boolean"},
       {"name": "actualdurationminutes", "type": "Integer"},
       {"name": "scheduledend", "type": "DateTime"},
       {"name": "regardingobjectid", "type": "Lookup", "targets": [
         {"entity": "account", "navigation": "regardingobjectid_account_phonecall", "relationship": "Account_Phonecalls"}]},
       {"name": "ownerid", "type": "Owner", "targets": [
         {"entity": "systemuser", "navigation": "ownerid", "relationship": "user_phonecall"}]}
     ]},
    {"logical_name": "appointment", "entity_set": "appointments", "primary_id": "activityid", "primary_name": "subject",
     "columns": [
       {"name": "subject", "type": "String", "max_length": 200},
       {"name": "location", "type": "String", "max_length": 200},
       {"name": "scheduledstart", "type": "DateTime"},
       {"name": "scheduledend", "type": "DateTime"},
       {"name": "isalldayevent", "type": "Boolean"},
       {"name": "regardingobjectid", "type": "Lookup", "targets": [
         {"entity": "contact", "navigation": "regardingobjectid_contact_appointment", "relationship": "Contact_Appointments"}]},
       {"name": "ownerid", "type": "Owner", "targets": [
         {"entity": "systemuser", "navigation": "ownerid", "relationship": "user_appointment"}]}
     ]},
    {"logical_name": "product", "entity_set": "products", "primary_id": "productid", "primary_name": "name",
     "columns": [
       {"name": "name", "type": "String", "max_length": 100},
       {"name": "productnumber", "type": "String", "max_length": 100},
       {"name": "description", "type": "Memo", "max_length": 2000},
       {"name": "price", "type": "Money"},
       {"name": "quantitydecimal", "type": "Integer"},
       {"name": "stockweight", "type": "Decimal"},
       {"name": "statecode", "type": "State"}
     ]},
    {"logical_name": "quote", "entity_set": "quotes", "primary_id": "quoteid", "primary_name": "name",
     "columns": [
       {"name": "name", "type": "String", "max_length": 300},
       {"name": "quotenumber", "type": "String", "max_length": 100},
       {"name": "totalamount", "type": "Money"},
       {"name": "effectiveto", "type": "DateTime"},
       {"name": "statecode", "type": "State"},
       {"name": "opportunityid", "type": "Lookup", "targets": [
         {"entity": "opportunity", "navigation": "opportunityid", "relationship": "opportunity_quotes"}]},
       {"name": "customerid", "type": "Customer", "targets": [
         {"entity": "account", "navigation": "customerid_account", "relationship": "quote_customer_accounts"},
         {"entity": "contact", "navigation": "customerid_contact", "relationship": "quote_customer_contacts"}]},
       {"name": "ownerid", "type": "Owner", "targets": [
         {"entity": "systemuser", "navigation": "ownerid", "relationship": "user_quote"}]}
     ]},
    {"logical_name": "salesorder", "entity_set": "salesorders", "primary_id": "salesorderid", "primary_name": "name",
     "columns": [
       {"name": "name", "type": "String", "max_length": 300},
       {"name": "ordernumber", "type": "String", "max_length": 100},
       {"name": "totalamount", "type": "Money"},
       {"name": "datefulfilled", "type": "DateTime"},
       {"name": "statecode", "type": "State"},
       {"name": "customerid", "type": "Customer", "targets": [
         {"entity": "account", "navigation": "customerid_account", "relationship": "order_customer_accounts"},
         {"entity": "contact", "navigation": "customerid_contact", "relationship": "order_customer_contacts"}]},
       {"name": "ownerid", "type": "Owner", "targets": [
         {"entity": "systemuser", "navigation": "ownerid", "relationship": "user_orders"}]}
     ]},
    {"logical_name": "new_inspection", "entity_set": "new_inspections", "primary_id": "new_inspectionid",
     "primary_name": "new_name",
     "columns": [
       {"name": "new_name", "display": "Name", "type": "String", "max_length": 100},
       {"name": "new_score", "display": "Score", "type": "Integer"},
       {"name": "new_cost", "display": "Cost", "type": "Money"},
       {"name": "new_ratio", "display": "Pass Ratio", "type": "Double"},
       {"name": "new_passed", "display": "Passed", "type": "Boolean"},
       {"name": "new_inspectedon", "display": "Inspected On", "type": "DateTime"},
       {"name": "new_duedate", "display": "Due Date", "type": "DateTime", "behavior": "DateOnly"},
       {"name": "new_result", "display": "Result", "type": "Picklist",
        "options": [[100000000, "Pass"], [100000001, "Minor issues"], [100000002, "Fail"]]},
       {"name": "new_findings", "display": "Findings", "type": "MultiSelectPicklist",
        "options": [[1, "Corrosion"], [2, "Leak"], [3, "Wiring"], [4, "Signage"]]},
       {"name": "new_reference", "display": "Reference", "type": "Uniqueidentifier"},
       {"name": "new_siteid", "display": "Site", "type": "Lookup", "targets": [
         {"entity": "account", "navigation": "new_siteid", "relationship": "new_account_inspection"}]},
       {"name": "statecode", "display": "Status", "type": "State"},
       {"name": "ownerid", "type": "Owner", "targets": [
         {"entity": "systemuser", "navigation": "ownerid", "relationship": "user_new_inspection"}]}
     ]},
    {"logical_name": "competitor", "entity_set": "competitors", "primary_id": "competitorid", "primary_name": "name",
     "columns": [
       {"name": "name", "type": "String", "max_length": 100},
       {"name": "websiteurl", "type": "String", "max_length": 200},
       {"name": "strengths", "type": "Memo", "max_length": 2000},
       {"name": "weaknesses", "type": "Memo", "max_length": 2000},
       {"name": "reportedrevenue", "type": "Money"}
     ]}
  ]
}"#;
