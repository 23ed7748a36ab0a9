//! EntityDefinitions: list, by key, $select, $filter, $expand.

use serde_json::Value;

use crate::common::seeded;

#[tokio::test]
async fn entity_definitions_list_and_filter() {
    let e = seeded(0).await;
    let v = e
        .get("EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute")
        .await
        .json();
    let list = v["value"].as_array().unwrap();
    let names: Vec<&str> = list
        .iter()
        .map(|x| x["LogicalName"].as_str().unwrap())
        .collect();
    for n in ["account", "contact", "opportunity", "task", "systemuser"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let task = list.iter().find(|x| x["LogicalName"] == "task").unwrap();
    assert_eq!(task["EntitySetName"], "tasks");
    assert_eq!(task["PrimaryIdAttribute"], "activityid");
    assert!(
        task.get("ObjectTypeCode").is_none(),
        "$select limits the properties"
    );
    let v = e
        .get("EntityDefinitions?$filter=LogicalName eq 'opportunity'&$select=EntitySetName")
        .await
        .json();
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(v["value"][0]["EntitySetName"], "opportunities");
    assert_eq!(e.get("EntityDefinitions?$select=Nope").await.status, 400);
}

#[tokio::test]
async fn entity_definition_by_key_with_attributes_and_relationships() {
    let e = seeded(0).await;
    let r = e.get("EntityDefinitions(LogicalName='contact')?$select=LogicalName,EntitySetName&$expand=Attributes($select=LogicalName,AttributeType),ManyToOneRelationships").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["EntitySetName"], "contacts");
    let attrs = v["Attributes"].as_array().unwrap();
    let find = |n: &str| {
        attrs
            .iter()
            .find(|a| a["LogicalName"] == n)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(find("contactid")["AttributeType"], "Uniqueidentifier");
    assert_eq!(find("lastname")["AttributeType"], "String");
    assert_eq!(find("parentcustomerid")["AttributeType"], "Customer");
    assert_eq!(find("ownerid")["AttributeType"], "Owner");
    assert_eq!(find("versionnumber")["AttributeType"], "BigInt");
    assert_eq!(find("modifiedon")["AttributeType"], "DateTime");
    let rels = v["ManyToOneRelationships"].as_array().unwrap();
    let to_account = rels
        .iter()
        .find(|r| {
            r["ReferencingAttribute"] == "parentcustomerid" && r["ReferencedEntity"] == "account"
        })
        .unwrap();
    assert_eq!(
        to_account["ReferencingEntityNavigationPropertyName"],
        "parentcustomerid_account"
    );
    let r = e.get("EntityDefinitions(LogicalName='task')/ManyToOneRelationships?$select=ReferencingAttribute,ReferencingEntityNavigationPropertyName").await.json();
    let navs: Vec<&str> = r["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            x["ReferencingEntityNavigationPropertyName"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(
        navs.contains(&"regardingobjectid_contact_task") && navs.contains(&"ownerid"),
        "{navs:?}"
    );
    let opp = e.get("EntityDefinitions(LogicalName='opportunity')/Attributes?$filter=LogicalName eq 'parentaccountid'").await.json();
    assert_eq!(opp["value"][0]["Targets"], serde_json::json!(["account"]));
    assert_eq!(
        e.get("EntityDefinitions(LogicalName='nosuch')")
            .await
            .status,
        404
    );
    let id = e
        .get("EntityDefinitions(LogicalName='account')?$select=LogicalName")
        .await
        .json()["MetadataId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        e.get(&format!("EntityDefinitions({id})?$select=LogicalName"))
            .await
            .json()["LogicalName"],
        "account"
    );
}
